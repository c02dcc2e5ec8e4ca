"""What an adapter's order book already knows, read for the ``Execution`` port's reports.

A broker adapter keeps the orders and fills its broker reported in a book (a lock, orders by
client order id, fills, events not yet taken); the port's read side is the same over any such
book: ``get_order``, ``open_orders``, ``orders_since``, ``fills_since``, taking the events and
assembling a ``ReconciliationReport``. Adapters delegate to these instead of each writing them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from core.messages import ExecutionEvent, PositionReport, ReconciliationReport
from core.model import AccountBalance, AccountId, ClientOrderId, Fill, Order

__all__ = ["OrderBookLike", "read_report"]


class _Tracked(Protocol):
    @property
    def order(self) -> Order: ...


class OrderBookLike(Protocol):
    """The parts of an adapter's book the read side needs (``events`` is swapped when taken)."""

    events: list[ExecutionEvent]

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def orders(self) -> Mapping[ClientOrderId, _Tracked]: ...

    @property
    def fills(self) -> Sequence[Fill]: ...


def get_order(book: OrderBookLike, client_order_id: ClientOrderId) -> Order | None:
    with book.lock:
        tracked = book.orders.get(client_order_id)
        return tracked.order if tracked else None


def take_events(book: OrderBookLike) -> list[ExecutionEvent]:
    """The events not yet taken, oldest first; the book keeps none of them."""
    with book.lock:
        events, book.events = book.events, []
    return events


def open_orders(book: OrderBookLike) -> list[Order]:
    with book.lock:
        return [t.order for t in book.orders.values() if t.order.status.is_open]


def orders_since(book: OrderBookLike, since: datetime) -> list[Order]:
    with book.lock:
        return [t.order for t in book.orders.values() if (t.order.updated_at or t.order.created_at) >= since]


def fills_since(book: OrderBookLike, since: datetime) -> list[Fill]:
    with book.lock:
        return [f for f in book.fills if f.ts >= since]


def read_report(
    book: OrderBookLike,
    account_id: AccountId,
    now: datetime,
    since: datetime,
    balance: AccountBalance,
    positions: Sequence[PositionReport],
) -> ReconciliationReport:
    """The reconciliation report of ``book`` with the broker's balance and positions."""
    return ReconciliationReport(
        account_id=account_id,
        ts=now,
        open_orders=tuple(open_orders(book)),
        fills=tuple(fills_since(book, since)),
        positions=tuple(positions),
        balance=balance,
        orders=tuple(orders_since(book, since)),
    )
