"""The interface every strategy exposes to the backtester and to the live account actors.

A strategy is vectorized: ``signals`` takes whole bar frames (one or more symbols, bar schema,
sorted by symbol then ``ts``) and adds per-bar intent columns, computed per symbol. The
backtester runs it once over the full history; a live actor runs it over a rolling window and
acts on the last row of each symbol (``suggest``). Same code, same numbers.

Signal columns (``SIGNAL_SCHEMA``), each evaluated at the bar's close:

* ``entry_long`` / ``exit_long`` / ``entry_short`` / ``exit_short`` (Boolean, never null):
  true on the bar where the strategy wants to act. They are events, not states: the order is
  sent after the close and fills at the next bar's open (``next_bar_open``).
* ``stop`` / ``target`` (Float64, nullable): absolute protective prices for an entry on that
  bar; null for none.
* ``confidence`` (Float64 in [0, 1]): how sure the rules (or the model) are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol, runtime_checkable

import polars as pl

from core.features import FeatureSetName

SIGNAL_SCHEMA: Final[dict[str, pl.DataType]] = {
    "entry_long": pl.Boolean(),
    "exit_long": pl.Boolean(),
    "entry_short": pl.Boolean(),
    "exit_short": pl.Boolean(),
    "stop": pl.Float64(),
    "target": pl.Float64(),
    "confidence": pl.Float64(),
}
SIGNAL_COLUMNS: Final[tuple[str, ...]] = tuple(SIGNAL_SCHEMA)

Action = Literal["entry", "exit"]
Side = Literal["long", "short"]
# Exits first, so a flip (exit long, enter short) is applied in that order.
_KINDS: Final[tuple[tuple[Action, Side], ...]] = (
    ("exit", "long"),
    ("exit", "short"),
    ("entry", "long"),
    ("entry", "short"),
)


@dataclass(frozen=True, slots=True)
class Intent:
    """What a strategy wants to do in one symbol after the close of the bar at ``ts``.

    The live path turns it into a ``Suggestion`` (sizing, prices and risk are not the
    strategy's business); the backtester turns the same columns into orders.
    """

    symbol: str
    ts: datetime
    action: Action
    side: Side
    stop: float | None = None
    target: float | None = None
    confidence: float = 0.5


@runtime_checkable
class Strategy(Protocol):
    """A strategy as the backtester and the account actors see it."""

    @property
    def name(self) -> str:
        """Registry name, e.g. ``"sma_cross"``."""
        ...

    @property
    def warmup(self) -> int:
        """Bars of history per symbol before ``signals`` can fire (the live window length)."""
        ...

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        """``bars`` with the ``SIGNAL_COLUMNS`` added, computed per symbol, row order kept."""
        ...

    def suggest(self, bars: pl.DataFrame) -> list[Intent]:
        """Intents for the last bar of each symbol in ``bars`` (a rolling window)."""
        ...


@runtime_checkable
class RuleStrategy(Strategy, Protocol):
    """A strategy whose signals are row-wise rules on one feature set:
    ``signals(bars) == rules(<feature_set>_features(bars))``.

    The live cycle then evaluates ``rules`` on each symbol's latest feature row only, instead
    of recomputing the features over the whole window every bar.
    """

    @property
    def feature_set(self) -> FeatureSetName:
        """The feature set ``rules`` reads (``"intraday"`` or ``"swing"``)."""
        ...

    def rules(self, features: pl.DataFrame) -> pl.DataFrame:
        """``features`` (bar columns plus the feature set) with the ``SIGNAL_COLUMNS`` added."""
        ...


def complete_signals(frame: pl.DataFrame) -> pl.DataFrame:
    """Add any missing signal column with its neutral value and cast all to ``SIGNAL_SCHEMA``.

    Strategies only write the columns they use (a long-only one has no ``entry_short``).
    """
    neutral: dict[str, pl.Expr] = {
        "entry_long": pl.lit(False),
        "exit_long": pl.lit(False),
        "entry_short": pl.lit(False),
        "exit_short": pl.lit(False),
        "stop": pl.lit(None, pl.Float64),
        "target": pl.lit(None, pl.Float64),
        "confidence": pl.lit(0.5),
    }
    missing = [expr.alias(name) for name, expr in neutral.items() if name not in frame.columns]
    out = frame.with_columns(missing) if missing else frame
    return out.with_columns(
        pl.col(c).fill_null(False).cast(t) if t == pl.Boolean() else pl.col(c).cast(t)
        for c, t in SIGNAL_SCHEMA.items()
    )


def latest_intents(signals: pl.DataFrame) -> list[Intent]:
    """The intents on the last row of each symbol of a ``signals`` frame, by symbol, exits first."""
    return row_intents(signals.group_by("symbol", maintain_order=True).last().sort("symbol"))


def row_intents(signals: pl.DataFrame) -> list[Intent]:
    """The intents on every row of ``signals``, in row order, exits first within a row."""
    intents: list[Intent] = []
    for row in signals.iter_rows(named=True):
        for action, side in _KINDS:
            if row[f"{action}_{side}"]:
                is_entry = action == "entry"
                intents.append(
                    Intent(
                        symbol=row["symbol"],
                        ts=row["ts"],
                        action=action,
                        side=side,
                        stop=row["stop"] if is_entry else None,
                        target=row["target"] if is_entry else None,
                        confidence=float(row["confidence"]),
                    )
                )
    return intents
