"""``SmaCross``: long-only simple-moving-average crossover (the parity and benchmark strategy).

Enter long on the bar where the fast SMA crosses above the slow one; exit on the bar where it
crosses below. A cross is strict on both bars, exactly like ``backtesting.lib.crossover``:
``fast[i-1] < slow[i-1] and fast[i] > slow[i]``; a bar where the averages are equal breaks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.strategies.base import Intent, complete_signals, latest_intents


@dataclass(frozen=True, slots=True)
class SmaCross:
    """SMA(``fast``) / SMA(``slow``) crossover on closes, per symbol."""

    fast: int = 10
    slow: int = 30
    name: str = "sma_cross"

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast}, slow={self.slow}")

    @property
    def warmup(self) -> int:
        return self.slow + 1

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        fast = pl.col("close").rolling_mean(self.fast).over("symbol")
        slow = pl.col("close").rolling_mean(self.slow).over("symbol")
        diff = (fast - slow).alias("_diff")
        prev = pl.col("_diff").shift(1).over("symbol")
        out = bars.with_columns(diff).with_columns(
            entry_long=(prev < 0) & (pl.col("_diff") > 0),
            exit_long=(prev > 0) & (pl.col("_diff") < 0),
        )
        return complete_signals(out.drop("_diff"))

    def suggest(self, bars: pl.DataFrame) -> list[Intent]:
        return latest_intents(self.signals(bars))
