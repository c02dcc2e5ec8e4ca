"""Intraday (1-minute bar) features for mean reversion.

Every feature is computed per ``(symbol, session)``: nothing looks across the overnight
gap, so a feature at bar t depends only on the bars of t's session up to and including t.
A live window that holds the current session from its open reproduces the batch value
exactly; ``INTRADAY_WINDOW_ROWS`` (one full session) always does.

Definitions (``docs/features.md`` has the full table):

- ``zscore``: ``(close - mean20) / std20``, sample std (ddof=1), over the last 20 bars.
- ``rsi``: RSI(14) with Wilder smoothing of gains and losses of ``close.diff()``; the
  averages are seeded with the simple mean of the session's first 14 changes, then
  ``avg_t = avg_{t-1} + (x_t - avg_{t-1}) / 14``. First value at the 15th bar.
- ``atr``: ATR(14), the same Wilder smoother over the true range; the session's first bar
  has no previous close, so its true range is ``high - low``. First value at the 14th bar.
- ``volume_zscore``: the ``zscore`` definition applied to ``volume``.
- ``spread``: ``(ask - bid) / mid`` with ``mid = (ask + bid) / 2``; null if ``mid <= 0``.
- ``range_pct``: ``(high - low) / close``.
- ``minutes_since_open`` / ``minutes_to_close``: from the bar start to the session's real
  open / close (early closes included); null on a date that is not a session.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from core.features.indicators import (
    is_sorted_by_symbol_ts,
    partition_id,
    partition_index,
    rolling_mean_std,
    rsi_from_averages,
    sort_by_symbol_ts,
    true_range,
    wilder_input,
    wilder_smooth,
    zscore_from,
)
from core.features.sessions import with_session_and_hours

__all__ = [
    "INTRADAY_FEATURES",
    "INTRADAY_LEADING_NULL_ROWS",
    "INTRADAY_WINDOW_ROWS",
    "intraday_features",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

INTRADAY_FEATURES: tuple[str, ...] = (
    "zscore",
    "rsi",
    "atr",
    "volume_zscore",
    "spread",
    "range_pct",
    "minutes_since_open",
    "minutes_to_close",
)
ZSCORE_PERIOD = 20
RSI_PERIOD = 14
ATR_PERIOD = 14
# Rows of a session before every feature is non-null (the 20-bar z-scores need 20 bars).
INTRADAY_LEADING_NULL_ROWS = ZSCORE_PERIOD - 1
# The longest XNYS session in 1-minute bars: a trailing window this long holds the whole
# current session, which is all an intraday feature can see.
INTRADAY_WINDOW_ROWS = 390

_PARTITION = ("symbol", "session")
_MINUTE_US = 60_000_000.0


def _minutes(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds().cast(pl.Float64) / _MINUTE_US


def _intraday_lazy(frame: pl.LazyFrame, presorted: bool = False) -> pl.LazyFrame:
    # Built in stages: each ``.over`` sees a plain column, which polars runs far faster
    # than an expression tree evaluated group by group.
    part = "_pid"
    idx = pl.col("_idx")
    close = pl.col("close")
    lf = sort_by_symbol_ts(with_session_and_hours(frame), presorted)
    lf = lf.with_columns(partition_index(_PARTITION).alias("_idx"), partition_id(_PARTITION).alias(part))
    prev_close = pl.when(idx > 0).then(close.shift(1))
    change = close - prev_close
    lf = lf.with_columns(
        change.clip(lower_bound=0.0).alias("_gain"),
        (-change).clip(lower_bound=0.0).alias("_loss"),
        true_range(pl.col("high"), pl.col("low"), prev_close).alias("_tr"),
    )
    close_mean, close_std = rolling_mean_std("close", ZSCORE_PERIOD, part)
    volume_mean, volume_std = rolling_mean_std("volume", ZSCORE_PERIOD, part)
    lf = lf.with_columns(
        wilder_input("_gain", RSI_PERIOD, idx, 1, part).alias("_gain"),
        wilder_input("_loss", RSI_PERIOD, idx, 1, part).alias("_loss"),
        wilder_input("_tr", ATR_PERIOD, idx, 0, part).alias("_tr"),
        close_mean.alias("_close_mean"),
        close_std.alias("_close_std"),
        volume_mean.alias("_volume_mean"),
        volume_std.alias("_volume_std"),
    )
    lf = lf.with_columns(
        wilder_smooth("_gain", RSI_PERIOD, part).alias("_avg_gain"),
        wilder_smooth("_loss", RSI_PERIOD, part).alias("_avg_loss"),
        wilder_smooth("_tr", ATR_PERIOD, part).alias("atr"),
    )
    mid = (pl.col("ask") + pl.col("bid")) / 2.0
    lf = lf.with_columns(
        zscore_from(close, pl.col("_close_mean"), pl.col("_close_std")).alias("zscore"),
        rsi_from_averages(pl.col("_avg_gain"), pl.col("_avg_loss")).alias("rsi"),
        zscore_from(pl.col("volume"), pl.col("_volume_mean"), pl.col("_volume_std")).alias("volume_zscore"),
        pl.when(mid > 0).then((pl.col("ask") - pl.col("bid")) / mid).alias("spread"),
        ((pl.col("high") - pl.col("low")) / close).alias("range_pct"),
        _minutes(pl.col("ts") - pl.col("session_open")).alias("minutes_since_open"),
        _minutes(pl.col("session_close") - pl.col("ts")).alias("minutes_to_close"),
    )
    return lf.drop(
        "_idx",
        "_pid",
        "_tr",
        "_gain",
        "_loss",
        "_avg_gain",
        "_avg_loss",
        "_close_mean",
        "_close_std",
        "_volume_mean",
        "_volume_std",
        "session_open",
        "session_close",
    )


def intraday_features(frame: FrameT) -> FrameT:
    """Bars plus ``session`` and the ``INTRADAY_FEATURES`` columns, sorted by ``(symbol, ts)``.

    Input columns: ``symbol, ts, open, high, low, close, volume, bid, ask`` (non-null).
    Lazy in, lazy out; the only eager step reads the frame's first and last session.
    """
    if isinstance(frame, pl.LazyFrame):
        return _intraday_lazy(frame)
    # The in-memory engine runs these window-heavy plans with about 30% less CPU.
    lazy = _intraday_lazy(frame.lazy(), is_sorted_by_symbol_ts(frame))
    return lazy.collect(engine="in-memory")
