"""``SimExecutionClient``: the ``Execution`` port for one account at a ``SimExchange``."""

from __future__ import annotations

from datetime import datetime

from adapters.brokers.sim.capabilities import SIM_CAPABILITIES
from adapters.brokers.sim.exchange import SimExchange
from core.errors import BrokerUnavailable, ConfigError, OrderRejected
from core.messages import ExecutionEvent, ReconciliationReport
from core.model import AccountBalance, AccountId, ClientOrderId, Fill, Order, Price, Quantity
from core.ports import BrokerCapabilities


class SimExecutionClient:
    """Order entry and reports of ``account_id`` at ``exchange``.

    Every call raises ``BrokerUnavailable`` while the exchange's faults say it is disconnected.
    A dropped acknowledgement (a fault) raises ``BrokerUnavailable`` after the venue recorded the
    order: resubmitting the same client order id then returns that order.
    """

    def __init__(self, exchange: SimExchange, account_id: AccountId) -> None:
        if not exchange.has_account(account_id):
            raise ConfigError(f"no account {account_id} at the simulated exchange; call open_account first")
        self._exchange = exchange
        self._account_id = account_id

    @property
    def account_id(self) -> AccountId:
        return self._account_id

    @property
    def capabilities(self) -> BrokerCapabilities:
        return SIM_CAPABILITIES

    def _connected(self) -> None:
        self._exchange.faults.check_connected()

    def submit(self, order: Order) -> Order:
        self._connected()
        if order.account_id != self._account_id:
            raise OrderRejected(
                f"order {order.client_order_id} is for {order.account_id}, not {self._account_id}"
            )
        known = self._exchange.get_order(self._account_id, order.client_order_id) is not None
        result = self._exchange.submit(order)
        if not known and self._exchange.faults.take_dropped_ack():
            raise BrokerUnavailable(f"no acknowledgement for order {order.client_order_id}")
        return result

    def cancel(self, client_order_id: ClientOrderId) -> Order:
        self._connected()
        return self._exchange.cancel(self._account_id, client_order_id)

    def replace(
        self,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order:
        self._connected()
        return self._exchange.replace(self._account_id, client_order_id, quantity, limit_price, stop_price)

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        self._connected()
        return self._exchange.get_order(self._account_id, client_order_id)

    def poll_events(self) -> list[ExecutionEvent]:
        self._connected()
        return self._exchange.poll_events(self._account_id)

    def open_orders(self) -> list[Order]:
        self._connected()
        return self._exchange.open_orders(self._account_id)

    def orders_since(self, since: datetime) -> list[Order]:
        self._connected()
        return self._exchange.orders_since(self._account_id, since)

    def fills_since(self, since: datetime) -> list[Fill]:
        self._connected()
        return self._exchange.fills_since(self._account_id, since)

    def balance(self) -> AccountBalance:
        self._connected()
        return self._exchange.balance(self._account_id)

    def report(self, since: datetime) -> ReconciliationReport:
        self._connected()
        return self._exchange.report(self._account_id, since)
