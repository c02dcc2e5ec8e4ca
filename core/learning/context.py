"""What the snapshot service is told at a fill, and the market context it looks up itself."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from core.errors import DataError
from core.model import OptionQuote, OrderLeg, Quote, Suggestion

Mark = Quote | OptionQuote
"""A mark of one instrument: a quote (equities) or an option quote with its greeks."""

TRADING_DAYS = 252


@dataclass(frozen=True, slots=True)
class EntryContext:
    """What the account actor knew when it traded.

    ``legs`` is the whole structure of the order (both legs of a vertical), ``quotes`` the marks
    it saw keyed by instrument id (legs, and the underlying's quote when it has one). At an
    exit, the same type carries the exit-time ``quotes`` (for the IV and underlying change).
    ``model_version`` None means the strategy's rule fallback scored the signal.
    """

    strategy: str | None = None
    legs: tuple[OrderLeg, ...] = ()
    quotes: Mapping[str, Mark] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)
    feature_set: str | None = None
    model_score: float | None = None
    model_version: str | None = None
    confidence: float | None = None
    signal: str | None = None
    reason: str | None = None
    max_risk: Decimal | None = None
    days_to_earnings: int | None = None

    @classmethod
    def from_suggestion(
        cls,
        suggestion: Suggestion,
        quotes: Mapping[str, Mark],
        features: Mapping[str, float] | None = None,
        feature_set: str | None = None,
        model_score: float | None = None,
        model_version: str | None = None,
        days_to_earnings: int | None = None,
    ) -> EntryContext:
        """The context of a fill of the order derived from ``suggestion``."""
        risk = suggestion.max_risk.amount
        return cls(
            strategy=str(suggestion.strategy),
            legs=suggestion.legs,
            quotes={str(k): v for k, v in quotes.items()},
            features=dict(features or {}),
            feature_set=feature_set,
            model_score=model_score,
            model_version=model_version,
            confidence=suggestion.confidence,
            signal=suggestion.signal,
            reason=suggestion.reason,
            max_risk=risk if risk > 0 else None,
            days_to_earnings=days_to_earnings,
        )


@dataclass(frozen=True, slots=True)
class IndexState:
    """One index (or its proxy) at a time: level, EMA trend, 5-session return."""

    symbol: str
    level: float
    ema_fast: float | None
    ema_slow: float | None
    trend: str | None
    trend_strength: float | None
    return_5d_pct: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "level": self.level,
            "ema_fast": self.ema_fast,
            "ema_slow": self.ema_slow,
            "trend": self.trend,
            "trend_strength": self.trend_strength,
            "return_5d_pct": self.return_5d_pct,
        }


@dataclass(frozen=True, slots=True)
class MarketContext:
    """The market at a time: the configured indices and the primary index's volatility regime."""

    indices: tuple[IndexState, ...] = ()
    realized_vol: float | None = None
    realized_vol_pct: float | None = None
    vol_regime: str | None = None

    @property
    def primary(self) -> IndexState | None:
        return self.indices[0] if self.indices else None


@runtime_checkable
class MarketContextProvider(Protocol):
    """Looks up the market context at ``ts`` (never reading anything later than ``ts``)."""

    def market_context(self, ts: datetime) -> MarketContext: ...


class NoMarketContext:
    """A provider with nothing to say (every market field null)."""

    def market_context(self, ts: datetime) -> MarketContext:
        return MarketContext()


def _ema(values: Sequence[float], span: int) -> float | None:
    if len(values) < span:
        return None
    alpha = 2.0 / (span + 1)
    ema = sum(values[:span]) / span
    for v in values[span:]:
        ema += alpha * (v - ema)
    return ema


def _realized_vols(closes: Sequence[float], window: int) -> list[float]:
    rets = [math.log(b / a) for a, b in itertools.pairwise(closes) if a > 0 and b > 0]
    out: list[float] = []
    for end in range(window, len(rets) + 1):
        chunk = rets[end - window : end]
        mean = sum(chunk) / window
        var = sum((r - mean) ** 2 for r in chunk) / (window - 1)
        out.append(math.sqrt(var * TRADING_DAYS))
    return out


def index_state(symbol: str, closes: Sequence[float], level: float | None = None) -> IndexState | None:
    """EMA(20)/EMA(50) trend of daily ``closes``; ``level`` defaults to the last close."""
    if not closes:
        return None
    last = closes[-1] if level is None else level
    fast, slow = _ema(closes, 20), _ema(closes, 50)
    strength = fast / slow - 1 if fast is not None and slow else None
    trend = (
        None if strength is None else "up" if strength > 0.005 else "down" if strength < -0.005 else "flat"
    )
    ret5 = (last / closes[-6] - 1) * 100 if len(closes) >= 6 and closes[-6] > 0 else None
    return IndexState(symbol, last, fast, slow, trend, strength, ret5)


def vol_regime(
    closes: Sequence[float], window: int = 20, lookback: int = TRADING_DAYS
) -> tuple[float, float, str] | None:
    """(realized vol, its percentile over ``lookback`` sessions, low/normal/high) or None."""
    vols = _realized_vols(closes, window)[-lookback:]
    if not vols:
        return None
    current = vols[-1]
    pct = 100.0 * sum(v <= current for v in vols) / len(vols)
    regime = "low" if pct < 100 / 3 else "high" if pct > 200 / 3 else "normal"
    return current, pct, regime


class DailyClosesContext:
    """Market context from the daily closes of configured index symbols.

    ``closes(symbol, ts)`` returns the closes of sessions complete at ``ts`` (oldest first),
    e.g. ``SyntheticMarket.bars(symbol, end=ts, timeframe="1d")["close"]``; ``spot`` (optional)
    the index level at ``ts``. The first index with data is the primary one (its realized vol
    sets the regime): configure ``("SPX", "QQQ", "SYNA")`` to prefer real indices when present.
    """

    def __init__(
        self,
        indices: Sequence[str],
        closes: Callable[[str, datetime], Sequence[float]],
        spot: Callable[[str, datetime], float | None] | None = None,
    ) -> None:
        self.indices = tuple(indices)
        self._closes = closes
        self._spot = spot

    def market_context(self, ts: datetime) -> MarketContext:
        states: list[IndexState] = []
        regime: tuple[float, float, str] | None = None
        for symbol in self.indices:
            try:
                closes = list(self._closes(symbol, ts))
                level = self._spot(symbol, ts) if self._spot is not None else None
            except (LookupError, DataError):
                continue
            state = index_state(symbol, closes, level)
            if state is None:
                continue
            if not states:
                regime = vol_regime(closes)
            states.append(state)
        if regime is None:
            return MarketContext(tuple(states))
        return MarketContext(tuple(states), *regime)
