"""Suggestions: what a strategy proposes, before risk and execution turn it into an order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from core.errors import InvalidValue
from core.model.identifiers import AccountId, ClientOrderId, StrategyId
from core.model.orders import HasLegs, OrderLeg, PriceEffect
from core.model.values import Money, Price, Quantity


@dataclass(frozen=True, slots=True)
class Suggestion(HasLegs):
    """A proposed trade.

    ``signal`` is a stable key of the signal (``"AAPL:long:2025-11-03T15:00"``): with the
    account, strategy and session it derives the order's ``ClientOrderId``, so the same signal
    can never become two orders. ``mid`` and ``natural`` are per-unit prices from the quotes the
    strategy saw (for a multi-leg suggestion, net credit or debit per combination, positive, with
    ``price_effect``). ``max_risk`` is the most the trade can lose.
    """

    account_id: AccountId
    strategy: StrategyId
    session: date
    signal: str
    legs: tuple[OrderLeg, ...]
    quantity: Quantity
    created_at: datetime
    mid: Price | None = None
    natural: Price | None = None
    price_effect: PriceEffect | None = None
    stop: Price | None = None
    target: Price | None = None
    confidence: float = 0.5
    reason: str = ""
    max_risk: Money = field(default_factory=Money.zero)
    once_per_day: bool = False
    quotes_ts: datetime | None = None
    """When the quotes behind ``mid`` and ``natural`` were taken (checked for staleness)."""

    def __post_init__(self) -> None:
        if not self.legs:
            raise InvalidValue("a suggestion needs at least one leg")
        if self.quantity.value <= 0:
            raise InvalidValue(f"suggestion quantity must be positive, got {self.quantity}")
        if not 0.0 <= self.confidence <= 1.0:
            raise InvalidValue(f"confidence must be within [0, 1], got {self.confidence}")
        if len(self.legs) > 1 and self.price_effect is None:
            raise InvalidValue("a multi-leg suggestion needs a price effect")

    @property
    def client_order_id(self) -> ClientOrderId:
        return ClientOrderId.derive(self.account_id, self.strategy, self.session, self.signal)
