"""The risk engine's inputs and output: limits, the context of a check and a decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import InvalidValue
from core.model import AccountBalance, InstrumentId, Money, Order, Position, Quote


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Hard pre-trade limits of one account. ``daily_loss_limit`` is a positive maximum loss."""

    max_risk_per_trade: Money
    max_open_positions: int
    max_exposure_per_symbol: Money
    daily_loss_limit: Money
    stale_quote_seconds: float = 30.0
    allow_short: bool = True

    def __post_init__(self) -> None:
        for name in ("max_risk_per_trade", "max_exposure_per_symbol", "daily_loss_limit"):
            value: Money = getattr(self, name)
            if value.amount < 0:
                raise InvalidValue(f"RiskLimits.{name} must not be negative, got {value}")
        if self.max_open_positions < 0:
            raise InvalidValue(
                f"RiskLimits.max_open_positions must not be negative, got {self.max_open_positions}"
            )
        if not self.stale_quote_seconds > 0:
            raise InvalidValue(
                f"RiskLimits.stale_quote_seconds must be positive, got {self.stale_quote_seconds}"
            )


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything a check may look at, taken at ``now`` (the clock's time, never the wall clock).

    ``quotes`` holds the latest quote of each leg of the suggestion (others may be present and
    are used to mark positions). ``daily_pnl`` is today's realized plus unrealized P&L.
    ``halted`` is the kill switch (global or for this account).
    """

    now: datetime
    market_open: bool
    balance: AccountBalance
    positions: Mapping[InstrumentId, Position]
    open_orders: Sequence[Order]
    daily_pnl: Money
    quotes: Mapping[InstrumentId, Quote] = field(default_factory=dict)
    halted: bool = False
    halt_reason: str = ""
    blackout: Mapping[str, str] = field(default_factory=dict)
    """Underlyings that take no new entry now, with the reason (e.g. earnings in 1 session)."""

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise InvalidValue("RiskContext.now must be timezone-aware")

    @property
    def currency(self) -> str:
        return self.balance.buying_power.currency


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The outcome of a check: approved, or denied by ``rule`` with a specific ``reason``."""

    approved: bool
    rule: str
    reason: str

    @classmethod
    def approve(cls, reason: str = "approved") -> RiskDecision:
        return cls(True, "", reason)

    @classmethod
    def deny(cls, rule: str, reason: str) -> RiskDecision:
        if not rule:
            raise InvalidValue("a denial must name its rule")
        return cls(False, rule, reason)

    def __str__(self) -> str:
        return self.reason if self.approved else f"denied by {self.rule}: {self.reason}"
