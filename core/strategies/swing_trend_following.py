"""``SwingTrendFollowing``: ride daily EMA trends confirmed by ADX, with ATR stops.

Rules (per symbol, on ``core.features.swing_features``):

* long while ``ema_20 > ema_50`` and ``adx >= adx_min``; short (if allowed) while
  ``ema_20 < ema_50`` and ``adx >= adx_min``. Entries are states: the backtester ignores one
  while a position is open, so a stopped-out trend is re-entered on the next signal;
* exit a long when ``ema_20 < ema_50`` (a short when ``ema_20 > ema_50``);
* stop ``stop_atr`` ATRs from the entry close; target ``target_atr`` ATRs (``None``: none).

With a model score (``score`` column or ``score_fn``; P(the close rises over the label
horizon)) a long also needs ``score >= 0.5 + score_threshold``, a short
``score <= 0.5 - score_threshold``; ``confidence`` is ``|score - 0.5| * 2``, else ``adx / 50``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.features import SWING_FEATURES, FeatureSetName, swing_features, warmup_rows
from core.strategies.base import Intent, complete_signals, latest_intents
from core.strategies.intraday_mean_reversion import SCORE_COLUMN, ScoreFn, attach_score

__all__ = ["SwingTrendFollowing"]


@dataclass(frozen=True, slots=True)
class SwingTrendFollowing:
    """Trend following on daily bars (see the module docstring for the rules)."""

    adx_min: float = 20.0
    stop_atr: float = 2.5
    target_atr: float | None = None
    allow_short: bool = True
    score_threshold: float = 0.05
    score_fn: ScoreFn | None = None
    name: str = "swing_trend_following"

    def __post_init__(self) -> None:
        if self.stop_atr <= 0 or (self.target_atr is not None and self.target_atr <= 0):
            raise ValueError("stop_atr and target_atr must be positive")
        if not 0 <= self.score_threshold < 0.5:
            raise ValueError(f"score_threshold must be in [0, 0.5), got {self.score_threshold}")

    @property
    def warmup(self) -> int:
        return warmup_rows("swing")

    @property
    def features(self) -> tuple[str, ...]:
        return SWING_FEATURES

    @property
    def feature_set(self) -> FeatureSetName:
        return "swing"

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        return self.rules(swing_features(bars))

    def rules(self, features: pl.DataFrame) -> pl.DataFrame:
        """The signal columns of a ``swing_features`` frame (any rows: each is judged alone)."""
        frame, scored = attach_score(features, self.score_fn)
        fast, slow, adx = pl.col("ema_20"), pl.col("ema_50"), pl.col("adx")
        close, atr = pl.col("close"), pl.col("atr")
        trending = adx >= self.adx_min
        long_in, short_in = (fast > slow) & trending, (fast < slow) & trending & self.allow_short
        if scored:
            score = pl.col(SCORE_COLUMN)
            long_in = long_in & (score >= 0.5 + self.score_threshold)
            short_in = short_in & (score <= 0.5 - self.score_threshold)
            confidence = ((score - 0.5).abs() * 2.0).clip(0.0, 1.0)
        else:
            confidence = (adx / 50.0).clip(0.0, 1.0)
        target = (
            pl.lit(None, pl.Float64)
            if self.target_atr is None
            else pl.when(long_in)
            .then(close + self.target_atr * atr)
            .when(short_in)
            .then(close - self.target_atr * atr)
        )
        out = frame.with_columns(
            entry_long=long_in,
            entry_short=short_in,
            exit_long=fast < slow,
            exit_short=fast > slow,
            stop=pl.when(long_in)
            .then(close - self.stop_atr * atr)
            .when(short_in)
            .then(close + self.stop_atr * atr),
            target=target,
            confidence=confidence.fill_null(0.0),
        )
        return complete_signals(out)

    def suggest(self, bars: pl.DataFrame) -> list[Intent]:
        return latest_intents(self.signals(bars))
