"""Feature sets by name: live windows, warm-up, a stable hash, and the live latest row."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Literal

import polars as pl

from core.features.intraday import (
    INTRADAY_FEATURES,
    INTRADAY_LEADING_NULL_ROWS,
    INTRADAY_WINDOW_ROWS,
    intraday_features,
)
from core.features.sessions import session_expr
from core.features.swing import SWING_FEATURES, SWING_LEADING_NULL_ROWS, SWING_WINDOW_ROWS, swing_features

__all__ = [
    "DEFINITIONS",
    "FEATURES_VERSION",
    "FeatureSetName",
    "feature_names",
    "feature_set_hash",
    "latest_row",
    "leading_null_rows",
    "warmup_rows",
]

FeatureSetName = Literal["intraday", "swing"]

# Bump when any definition below (or its implementation) changes meaning.
FEATURES_VERSION = "1"

DEFINITIONS: dict[FeatureSetName, dict[str, str]] = {
    "intraday": {
        "zscore": "(close-mean20)/std20 ddof=1 per symbol+session; null if std==0",
        "rsi": "RSI14 Wilder per session; seed=SMA of first 14 close changes; 50 if no moves",
        "atr": "ATR14 Wilder per session; seed=SMA of first 14 TR; first TR=high-low",
        "volume_zscore": "(volume-mean20)/std20 ddof=1 per symbol+session; null if std==0",
        "spread": "(ask-bid)/((ask+bid)/2); null if mid<=0",
        "range_pct": "(high-low)/close",
        "minutes_since_open": "(ts-session_open) minutes, XNYS calendar",
        "minutes_to_close": "(session_close-ts) minutes, XNYS calendar",
    },
    "swing": {
        "ema_20": "normalised EMA weights (1-2/21)^k over 80 rows",
        "ema_50": "normalised EMA weights (1-2/51)^k over 200 rows",
        "ema_slope": "ema_20[t]/ema_20[t-5]-1",
        "trend_strength": "ema_20/ema_50-1",
        "adx": "ADX14: DM and DX smoothed by normalised Wilder weights (13/14)^k over 56 rows",
        "atr": "ATR14: TR smoothed by normalised Wilder weights (13/14)^k over 56 rows",
        "volume_zscore": "(volume-mean20)/std20 ddof=1 per symbol; null if std==0",
    },
}

_NAMES: dict[FeatureSetName, tuple[str, ...]] = {"intraday": INTRADAY_FEATURES, "swing": SWING_FEATURES}


def feature_names(feature_set: FeatureSetName) -> tuple[str, ...]:
    """The feature columns of a set, in their canonical order."""
    return _NAMES[feature_set]


def warmup_rows(feature_set: FeatureSetName) -> int:
    """Trailing rows per symbol that ``latest_row`` needs to match the batch value exactly.

    Intraday: one full session (390), since every intraday feature restarts at the open.
    Swing: the longest finite window (200, from ``ema_50``).
    """
    return INTRADAY_WINDOW_ROWS if feature_set == "intraday" else SWING_WINDOW_ROWS


def leading_null_rows(feature_set: FeatureSetName) -> int:
    """Rows at the start of each partition (session / symbol) where some feature is null."""
    return INTRADAY_LEADING_NULL_ROWS if feature_set == "intraday" else SWING_LEADING_NULL_ROWS


def _resolve(names: Sequence[str], feature_set: FeatureSetName | None) -> FeatureSetName:
    if feature_set is not None:
        unknown = [n for n in names if n not in DEFINITIONS[feature_set]]
        if unknown:
            raise ValueError(f"not {feature_set} features: {unknown}")
        return feature_set
    matches: list[FeatureSetName] = [s for s in ("intraday", "swing") if set(names) <= DEFINITIONS[s].keys()]
    if len(matches) != 1:
        raise ValueError(f"cannot tell the feature set of {list(names)}; pass feature_set")
    return matches[0]


def feature_set_hash(names: Sequence[str], feature_set: FeatureSetName | None = None) -> str:
    """A stable hex digest of the ordered names, their definitions and ``FEATURES_VERSION``.

    ``feature_set`` is inferred from the names unless they fit both sets (``atr``).
    """
    resolved = _resolve(names, feature_set)
    payload = {
        "version": FEATURES_VERSION,
        "set": resolved,
        "features": [[n, DEFINITIONS[resolved][n]] for n in names],
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def latest_row(window: pl.DataFrame, feature_set: FeatureSetName) -> dict[str, float]:
    """Features of the last bar of a one-symbol trailing window; NaN where undefined.

    Equals the batch value on the same bar when the window holds at least
    ``warmup_rows(feature_set)`` rows (or, intraday, the current session from its open).
    """
    if window.height == 0:
        raise ValueError("empty window")
    if window["symbol"].n_unique() != 1:
        raise ValueError("latest_row takes the window of exactly one symbol")
    if feature_set == "intraday":
        window = window.with_columns(session_expr())
        window = window.filter(pl.col("session") == window["session"].max())
        out = intraday_features(window)
    else:
        out = swing_features(window)
    last = out.select(feature_names(feature_set)).row(-1, named=True)
    return {k: math.nan if v is None else float(v) for k, v in last.items()}
