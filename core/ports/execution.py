"""The ``Execution`` port: what every broker adapter (simulated or real) implements."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from core.messages import ExecutionEvent, ReconciliationReport
from core.model import AccountBalance, AccountId, ClientOrderId, Fill, Order, Price, Quantity
from core.ports.capabilities import BrokerCapabilities


@runtime_checkable
class Execution(Protocol):
    """Order entry and reports for one account at one broker.

    * ``submit`` is idempotent on ``order.client_order_id``: a second submission of an id the
      broker already has returns the existing order and creates nothing.
    * Order updates and fills arrive as events; ``poll_events`` drains those not yet taken.
    * Raise ``core.errors.TemporaryError`` subclasses for what a retry may fix,
      ``PermanentError`` subclasses (``OrderRejected``) for what it cannot.
    """

    @property
    def account_id(self) -> AccountId: ...

    @property
    def capabilities(self) -> BrokerCapabilities: ...

    def submit(self, order: Order) -> Order: ...

    def cancel(self, client_order_id: ClientOrderId) -> Order: ...

    def replace(
        self,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order: ...

    def get_order(self, client_order_id: ClientOrderId) -> Order | None: ...

    def poll_events(self) -> list[ExecutionEvent]: ...

    # -- reconciliation reports -----------------------------------------------------------
    def open_orders(self) -> list[Order]: ...

    def orders_since(self, since: datetime) -> list[Order]: ...

    def fills_since(self, since: datetime) -> list[Fill]: ...

    def balance(self) -> AccountBalance: ...

    def report(self, since: datetime) -> ReconciliationReport: ...
