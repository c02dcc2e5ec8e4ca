"""The venue's state: plain data, pickled whole by ``persistence``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.model import (
    AccountId,
    ClientOrderId,
    Fill,
    Instrument,
    InstrumentId,
    Money,
    Order,
    Position,
    Quote,
)

STATE_VERSION = 1


@dataclass(slots=True)
class WorkingOrder:
    """An order at the venue with what only the venue knows about it."""

    order: Order
    seq: int
    expires_at: datetime | None = None
    ack_in: int = 0
    """Market updates left before the venue acknowledges (fault-injected latency)."""
    triggered: bool = False
    reserve_per_unit: Decimal = Decimal(0)
    """Buying power held per unit of the leaves quantity."""
    charged: Money = field(default_factory=Money.zero)
    """Commission charged so far (per-order minimums count it)."""


@dataclass(slots=True)
class AccountState:
    account_id: AccountId
    cash: Money
    margin: bool
    positions: dict[InstrumentId, Position] = field(default_factory=dict)
    orders: dict[ClientOrderId, WorkingOrder] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)

    def position(self, instrument: Instrument) -> Position:
        return self.positions.get(instrument.id) or Position.flat(self.account_id, instrument)


@dataclass(slots=True)
class VenueState:
    version: int = STATE_VERSION
    accounts: dict[AccountId, AccountState] = field(default_factory=dict)
    instruments: dict[InstrumentId, Instrument] = field(default_factory=dict)
    quotes: dict[InstrumentId, Quote] = field(default_factory=dict)
    marks: dict[InstrumentId, Decimal] = field(default_factory=dict)
    """The last price of each instrument: a bar's close or a quote's mid."""
    working: dict[tuple[AccountId, ClientOrderId], None] = field(default_factory=dict)
    """Open orders in arrival order (an ordered set)."""
    order_seq: int = 0
    fill_seq: int = 0
