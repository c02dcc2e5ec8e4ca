"""Fills: one execution of one instrument."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.errors import InvalidValue
from core.model.identifiers import AccountId, BrokerOrderId, ClientOrderId, FillId
from core.model.instruments import Instrument
from core.model.orders import OrderSide
from core.model.values import Money, Price, Quantity


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution of ``quantity`` units of ``instrument`` at ``price``.

    A multi-leg order produces one fill per leg (the leg's quantity is the order quantity times
    the leg ratio), all carrying the order's client id.
    """

    fill_id: FillId
    client_order_id: ClientOrderId
    account_id: AccountId
    instrument: Instrument
    side: OrderSide
    quantity: Quantity
    price: Price
    ts: datetime
    commission: Money = field(default_factory=Money.zero)
    broker_order_id: BrokerOrderId | None = None

    def __post_init__(self) -> None:
        if self.quantity.value <= 0:
            raise InvalidValue(f"fill quantity must be positive, got {self.quantity}")
        if self.ts.tzinfo is None:
            raise InvalidValue("fill timestamps must be timezone-aware")

    @property
    def notional(self) -> Money:
        """Price × quantity × multiplier, always positive."""
        return Money(self.price.value * self.quantity.value * self.instrument.multiplier)

    @property
    def cash_flow(self) -> Money:
        """Cash received (positive, a sale) or paid (negative, a purchase), after commission."""
        gross = self.notional if self.side is OrderSide.SELL else -self.notional
        return gross - self.commission
