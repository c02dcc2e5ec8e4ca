"""Market data as the domain sees it: bars, quotes and option quotes with greeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidValue
from core.model.identifiers import InstrumentId
from core.model.instruments import OptionContract
from core.model.values import Price


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar of ``symbol`` starting at ``ts`` (floats: bars are data, not money)."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Quote:
    """The best bid and ask of an instrument at ``ts``."""

    instrument_id: InstrumentId
    bid: Price
    ask: Price
    ts: datetime
    bid_size: float = 0.0
    ask_size: float = 0.0

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise InvalidValue("quote timestamps must be timezone-aware")

    @property
    def mid(self) -> Price:
        return Price((self.bid.value + self.ask.value) / 2)

    @property
    def spread(self) -> Price:
        return self.ask - self.bid

    @property
    def is_crossed_or_locked(self) -> bool:
        return self.bid >= self.ask

    def age_seconds(self, now: datetime) -> float:
        return (now - self.ts).total_seconds()

    def is_stale(self, now: datetime, max_age_seconds: float) -> bool:
        return self.age_seconds(now) > max_age_seconds


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """A quote of an option contract with its theoretical value, implied volatility and greeks."""

    contract: OptionContract
    quote: Quote
    underlying_price: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    theo: float | None = None
