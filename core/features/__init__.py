"""Feature definitions as polars expressions: one code path for training and live.

``intraday_features`` / ``swing_features`` run on a full history (training) and on a
trailing window (live, through ``latest_row``) with identical results; see
``docs/features.md`` for every definition, its warm-up and its null policy.
"""

from core.features.intraday import INTRADAY_FEATURES, intraday_features
from core.features.labels import LABEL_COLUMNS, forward_return, triple_barrier
from core.features.sets import (
    FEATURES_VERSION,
    FeatureSetName,
    feature_names,
    feature_set_hash,
    latest_row,
    leading_null_rows,
    warmup_rows,
)
from core.features.swing import SWING_FEATURES, swing_features

__all__ = [
    "FEATURES_VERSION",
    "INTRADAY_FEATURES",
    "LABEL_COLUMNS",
    "SWING_FEATURES",
    "FeatureSetName",
    "feature_names",
    "feature_set_hash",
    "forward_return",
    "intraday_features",
    "latest_row",
    "leading_null_rows",
    "swing_features",
    "triple_barrier",
    "warmup_rows",
]
