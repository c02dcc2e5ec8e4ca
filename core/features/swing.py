"""Swing (daily bar) features for trend following.

A symbol's daily history has no natural restart, so a recursive smoother would make a
value depend on where the history happens to begin. Every swing feature is therefore a
fixed finite window: a value at day t depends on exactly the last ``window`` rows of the
symbol and is null until that many exist. Any trailing window of ``SWING_WINDOW_ROWS``
rows reproduces the batch value, whatever the history before it.

Smoothers are normalised exponential weights over a window of ``4 x period`` rows
(``sum w_k x_{t-k} / sum w_k``; the truncated tail would have weighed ``~e^-8`` of the
infinite smoother, so the values track the textbook recursions closely):

- ``ema_20`` / ``ema_50``: weights ``(1 - 2/(n+1))^k``, windows of 80 / 200 rows.
- ``ema_slope``: ``ema_20_t / ema_20_{t-5} - 1``.
- ``trend_strength``: ``ema_20 / ema_50 - 1``.
- ``atr``: Wilder weights ``(1 - 1/14)^k`` over 56 true ranges (TR needs the prior close,
  so the first row of a symbol has none).
- ``adx``: +DM/-DM and TR smoothed as ``atr``; ``DX = 100 |+DI - -DI| / (+DI + -DI)`` (0 when
  both are 0); ``adx`` is the same 56-row Wilder mean of DX.
- ``volume_zscore``: ``(volume - mean20) / std20``, sample std (ddof=1).
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from core.features.indicators import (
    ema_weights,
    is_sorted_by_symbol_ts,
    partition_id,
    partition_index,
    rolling_mean_std,
    sort_by_symbol_ts,
    true_range,
    wilder_weights,
    windowed_weighted_mean,
    zscore_from,
)

__all__ = ["SWING_FEATURES", "SWING_LEADING_NULL_ROWS", "SWING_WINDOW_ROWS", "swing_features"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

SWING_FEATURES: tuple[str, ...] = (
    "ema_20",
    "ema_50",
    "ema_slope",
    "trend_strength",
    "adx",
    "atr",
    "volume_zscore",
)
EMA_FAST, EMA_SLOW, SLOPE_LAG = 20, 50, 5
ADX_PERIOD = ATR_PERIOD = 14
VOLUME_PERIOD = 20
WINDOW_FACTOR = 4

_FAST_W = ema_weights(EMA_FAST, WINDOW_FACTOR * EMA_FAST)
_SLOW_W = ema_weights(EMA_SLOW, WINDOW_FACTOR * EMA_SLOW)
_WILDER_W = wilder_weights(ATR_PERIOD, WINDOW_FACTOR * ATR_PERIOD)

# First non-null row per feature (0-based, inside a symbol's history).
_FIRST_ROW = {
    "ema_20": len(_FAST_W) - 1,
    "ema_50": len(_SLOW_W) - 1,
    "ema_slope": len(_FAST_W) - 1 + SLOPE_LAG,
    "trend_strength": len(_SLOW_W) - 1,
    "atr": len(_WILDER_W),
    "adx": 2 * len(_WILDER_W) - 1,
    "volume_zscore": VOLUME_PERIOD - 1,
}
SWING_LEADING_NULL_ROWS = max(_FIRST_ROW.values())
SWING_WINDOW_ROWS = SWING_LEADING_NULL_ROWS + 1


def _swing_lazy(frame: pl.LazyFrame, presorted: bool = False) -> pl.LazyFrame:
    idx = pl.col("_idx")
    high, low, close = pl.col("high"), pl.col("low"), pl.col("close")
    lf = sort_by_symbol_ts(frame, presorted).with_columns(
        partition_index(["symbol"]).alias("_idx"), partition_id(["symbol"]).alias("_pid")
    )
    prev = pl.when(idx > 0)
    up = high - prev.then(high.shift(1))
    down = prev.then(low.shift(1)) - low
    lf = lf.with_columns(
        true_range(high, low, prev.then(close.shift(1))).alias("_tr"),
        pl.when((up > down) & (up > 0)).then(up).otherwise(pl.when(up.is_not_null()).then(0.0)).alias("_pdm"),
        pl.when((down > up) & (down > 0))
        .then(down)
        .otherwise(pl.when(up.is_not_null()).then(0.0))
        .alias("_mdm"),
        windowed_weighted_mean(close, _FAST_W, idx, 0).alias("ema_20"),
        windowed_weighted_mean(close, _SLOW_W, idx, 0).alias("ema_50"),
        *(
            e.alias(n)
            for e, n in zip(rolling_mean_std("volume", VOLUME_PERIOD, "_pid"), ("_vm", "_vs"), strict=True)
        ),
    )
    # The first row's TR is high - low (no prior close); it is excluded by starting at row 1.
    lf = lf.with_columns(
        windowed_weighted_mean(pl.col("_tr"), _WILDER_W, idx, 1).alias("atr"),
        windowed_weighted_mean(pl.col("_pdm"), _WILDER_W, idx, 1).alias("_spdm"),
        windowed_weighted_mean(pl.col("_mdm"), _WILDER_W, idx, 1).alias("_smdm"),
        (pl.col("ema_20") / pl.col("ema_20").shift(SLOPE_LAG) - 1.0).alias("ema_slope"),
        (pl.col("ema_20") / pl.col("ema_50") - 1.0).alias("trend_strength"),
        zscore_from(pl.col("volume"), pl.col("_vm"), pl.col("_vs")).alias("volume_zscore"),
    )
    # DI ratios share the TR denominator, so DX needs only the smoothed DMs.
    dm_sum = pl.col("_spdm") + pl.col("_smdm")
    flat = pl.when(dm_sum.is_not_null()).then(0.0)
    dx = pl.when(dm_sum > 0).then(100.0 * (pl.col("_spdm") - pl.col("_smdm")).abs() / dm_sum).otherwise(flat)
    lf = lf.with_columns(dx.alias("_dx")).with_columns(
        windowed_weighted_mean(pl.col("_dx"), _WILDER_W, idx, _FIRST_ROW["atr"]).alias("adx"),
        pl.when(idx >= _FIRST_ROW["ema_slope"]).then(pl.col("ema_slope")).alias("ema_slope"),
    )
    return lf.drop("_idx", "_pid", "_vm", "_vs", "_tr", "_pdm", "_mdm", "_spdm", "_smdm", "_dx")


def swing_features(frame: FrameT) -> FrameT:
    """Daily bars plus the ``SWING_FEATURES`` columns, sorted by ``(symbol, ts)``.

    Input columns: ``symbol, ts, high, low, close, volume`` (non-null), one row per session.
    """
    if isinstance(frame, pl.LazyFrame):
        return _swing_lazy(frame)
    return _swing_lazy(frame.lazy(), is_sorted_by_symbol_ts(frame)).collect(engine="in-memory")
