"""``IntradayMeanReversion``: fade stretched minute bars, flat before the close.

Rules (per symbol and session, on ``core.features.intraday_features``):

* enter long when ``zscore < -entry_z`` and ``rsi < rsi_low``; short when ``zscore > entry_z``
  and ``rsi > rsi_high``; no entry in the last ``entry_cutoff_minutes`` of the session;
* exit a long when ``zscore >= -exit_z`` (the stretch has reverted), a short when
  ``zscore <= exit_z``, and both once ``minutes_to_close <= flatten_minutes``;
* stop ``stop_atr`` ATRs against the entry close, target ``target_atr`` ATRs in favour.

With a model score (a ``score`` column in the bars, or ``score_fn`` on the feature frame) the
score is P(the close rises over the label horizon) from ``training.model``. Entries then need
the looser stretch ``model_entry_z`` *and* ``score >= 0.5 + score_threshold`` (long) or
``score <= 0.5 - score_threshold`` (short); a position also exits when the score turns
against it. ``confidence`` is ``|score - 0.5| * 2`` with a model, the stretch otherwise.
A row without a score (null) never enters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from core.features import INTRADAY_FEATURES, FeatureSetName, intraday_features, warmup_rows
from core.strategies.base import Intent, complete_signals, latest_intents

__all__ = ["SCORE_COLUMN", "IntradayMeanReversion", "ScoreFn", "attach_score"]

SCORE_COLUMN = "score"
ScoreFn = Callable[[pl.DataFrame], "Sequence[float] | pl.Series"]


def attach_score(features: pl.DataFrame, score_fn: ScoreFn | None) -> tuple[pl.DataFrame, bool]:
    """``features`` with a Float64 ``score`` column from ``score_fn`` (if given); has a score?"""
    if score_fn is not None:
        scores = pl.Series(SCORE_COLUMN, score_fn(features), dtype=pl.Float64)
        if scores.len() != features.height:
            raise ValueError(f"score_fn returned {scores.len()} scores for {features.height} rows")
        return features.with_columns(scores), True
    if SCORE_COLUMN in features.columns:
        return features.with_columns(pl.col(SCORE_COLUMN).cast(pl.Float64)), True
    return features, False


@dataclass(frozen=True, slots=True)
class IntradayMeanReversion:
    """Mean reversion on 1-minute bars (see the module docstring for the rules)."""

    entry_z: float = 2.0
    exit_z: float = 0.0
    rsi_low: float = 35.0
    rsi_high: float = 65.0
    stop_atr: float = 3.0
    target_atr: float = 4.0
    flatten_minutes: float = 5.0
    entry_cutoff_minutes: float = 15.0
    allow_short: bool = True
    model_entry_z: float = 1.0
    score_threshold: float = 0.05
    score_fn: ScoreFn | None = None
    name: str = "intraday_mean_reversion"

    def __post_init__(self) -> None:
        if self.entry_z <= 0 or self.model_entry_z < 0 or self.stop_atr <= 0 or self.target_atr <= 0:
            raise ValueError("entry_z, stop_atr and target_atr must be positive, model_entry_z >= 0")
        if not 0 <= self.score_threshold < 0.5:
            raise ValueError(f"score_threshold must be in [0, 0.5), got {self.score_threshold}")
        if self.entry_cutoff_minutes < self.flatten_minutes:
            raise ValueError("entry_cutoff_minutes must be at least flatten_minutes")

    @property
    def warmup(self) -> int:
        return warmup_rows("intraday")

    @property
    def features(self) -> tuple[str, ...]:
        return INTRADAY_FEATURES

    @property
    def feature_set(self) -> FeatureSetName:
        return "intraday"

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        return self.rules(intraday_features(bars))

    def rules(self, features: pl.DataFrame) -> pl.DataFrame:
        """The signal columns of an ``intraday_features`` frame (any rows: each is judged alone)."""
        frame, scored = attach_score(features, self.score_fn)
        z, rsi, atr, close = pl.col("zscore"), pl.col("rsi"), pl.col("atr"), pl.col("close")
        to_close = pl.col("minutes_to_close")
        may_enter = to_close > self.entry_cutoff_minutes
        flatten = to_close <= self.flatten_minutes
        if scored:
            score = pl.col(SCORE_COLUMN)
            long_in = (z < -self.model_entry_z) & (score >= 0.5 + self.score_threshold)
            short_in = (z > self.model_entry_z) & (score <= 0.5 - self.score_threshold)
            long_out = (z >= -self.exit_z) | (score < 0.5)
            short_out = (z <= self.exit_z) | (score > 0.5)
            confidence = ((score - 0.5).abs() * 2.0).clip(0.0, 1.0)
        else:
            long_in = (z < -self.entry_z) & (rsi < self.rsi_low)
            short_in = (z > self.entry_z) & (rsi > self.rsi_high)
            long_out, short_out = z >= -self.exit_z, z <= self.exit_z
            confidence = (z.abs() / (2.0 * self.entry_z)).clip(0.0, 1.0)
        long_in, short_in = long_in & may_enter, short_in & may_enter & self.allow_short
        out = frame.with_columns(
            entry_long=long_in,
            entry_short=short_in,
            exit_long=long_out | flatten,
            exit_short=short_out | flatten,
            stop=pl.when(long_in)
            .then(close - self.stop_atr * atr)
            .when(short_in)
            .then(close + self.stop_atr * atr),
            target=pl.when(long_in)
            .then(close + self.target_atr * atr)
            .when(short_in)
            .then(close - self.target_atr * atr),
            confidence=confidence.fill_null(0.0),
        )
        return complete_signals(out)

    def suggest(self, bars: pl.DataFrame) -> list[Intent]:
        return latest_intents(self.signals(bars))
