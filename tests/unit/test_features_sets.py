"""Feature-set bookkeeping: names, warm-up, hash and the live latest row."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from core.features import (
    INTRADAY_FEATURES,
    SWING_FEATURES,
    feature_names,
    feature_set_hash,
    latest_row,
    leading_null_rows,
    warmup_rows,
)
from core.features.sets import DEFINITIONS
from tests.unit.test_features_data import minute_bars


def test_every_feature_has_a_definition() -> None:
    assert tuple(DEFINITIONS["intraday"]) == INTRADAY_FEATURES == feature_names("intraday")
    assert tuple(DEFINITIONS["swing"]) == SWING_FEATURES == feature_names("swing")


def test_warm_up_numbers() -> None:
    assert (warmup_rows("intraday"), leading_null_rows("intraday")) == (390, 19)
    assert (warmup_rows("swing"), leading_null_rows("swing")) == (200, 199)


def test_hash_is_stable_ordered_and_set_aware() -> None:
    names = ["zscore", "rsi", "atr", "volume_zscore", "spread"]
    assert feature_set_hash(names) == feature_set_hash(list(names))
    # Pinned: a change here means every registered model's feature lineage changes.
    assert feature_set_hash(names) == "dae1f070173b7358"
    assert feature_set_hash(names) != feature_set_hash(list(reversed(names)))
    assert feature_set_hash(["atr"], "intraday") != feature_set_hash(["atr"], "swing")
    with pytest.raises(ValueError, match="pass feature_set"):
        feature_set_hash(["atr", "volume_zscore"])
    with pytest.raises(ValueError, match="not swing"):
        feature_set_hash(["rsi"], "swing")


def test_latest_row_refuses_bad_windows() -> None:
    bars = minute_bars(["AAA", "BBB"], date(2024, 12, 2), date(2024, 12, 2))
    with pytest.raises(ValueError, match="one symbol"):
        latest_row(bars, "intraday")
    with pytest.raises(ValueError, match="empty"):
        latest_row(bars.head(0), "intraday")


def test_latest_row_reports_nan_during_warm_up() -> None:
    bars = minute_bars(["AAA"], date(2024, 12, 2), date(2024, 12, 2)).head(5)
    row = latest_row(bars, "intraday")
    assert math.isnan(row["zscore"]) and math.isnan(row["rsi"])
    assert row["minutes_since_open"] == 4.0
    assert set(row) == set(INTRADAY_FEATURES)
    assert isinstance(pl.Series(list(row.values())).dtype, pl.Float64)
