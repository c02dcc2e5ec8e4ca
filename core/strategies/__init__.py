"""Strategies: vectorized signal rules shared by the backtester and the live account actors.

``STRATEGIES`` maps a registry name (``raydesk backtest --strategy NAME``) to a factory that
builds the strategy with its default parameters. Add new strategies here.
"""

from __future__ import annotations

from collections.abc import Callable

from core.strategies.base import (
    SIGNAL_COLUMNS,
    SIGNAL_SCHEMA,
    Intent,
    RuleStrategy,
    Strategy,
    complete_signals,
    latest_intents,
    row_intents,
)
from core.strategies.intraday_mean_reversion import IntradayMeanReversion
from core.strategies.sma_cross import SmaCross
from core.strategies.swing_trend_following import SwingTrendFollowing

StrategyFactory = Callable[[], Strategy]

STRATEGIES: dict[str, StrategyFactory] = {
    "sma_cross": SmaCross,
    "intraday_mean_reversion": IntradayMeanReversion,
    "swing_trend_following": SwingTrendFollowing,
}


def make_strategy(name: str) -> Strategy:
    """The strategy registered as ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None
    return factory()


__all__ = [
    "SIGNAL_COLUMNS",
    "SIGNAL_SCHEMA",
    "STRATEGIES",
    "Intent",
    "IntradayMeanReversion",
    "RuleStrategy",
    "SmaCross",
    "Strategy",
    "StrategyFactory",
    "SwingTrendFollowing",
    "complete_signals",
    "latest_intents",
    "make_strategy",
    "row_intents",
]
