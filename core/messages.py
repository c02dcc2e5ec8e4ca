"""Commands, events and reconciliation reports. All frozen: derive a new one, never edit one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    Price,
    Quantity,
)


# -- commands -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubmitOrder:
    order: Order


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: ClientOrderId


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """Change the quantity and/or prices of a working order (the legs stay as they are)."""

    client_order_id: ClientOrderId
    quantity: Quantity | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None


# -- events ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """The broker changed an order: the event carries the order as it is now."""

    order: Order
    ts: datetime

    @property
    def status(self) -> OrderStatus:
        return self.order.status


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A fill of one leg of an order."""

    fill: Fill

    @property
    def ts(self) -> datetime:
        return self.fill.ts


ExecutionEvent = OrderUpdated | OrderFilled


# -- reconciliation -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PositionReport:
    """A position as the broker reports it: signed net quantity and average price."""

    instrument: Instrument
    net: Decimal
    avg_price: Price


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """Everything a broker knows about an account, to rebuild and check local state against."""

    account_id: AccountId
    ts: datetime
    open_orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    positions: tuple[PositionReport, ...]
    balance: AccountBalance
    orders: tuple[Order, ...] = field(default=())
    """Every order the broker has for this account since the report's ``since`` time."""
