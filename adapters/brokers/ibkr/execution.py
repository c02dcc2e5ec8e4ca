"""``IbkrExecution``: the ``Execution`` port over ib_async (see ``docs/brokers/ibkr.md``).

* The client order id goes out as ``orderRef``. Orders are looked up by it before anything is
  sent, and after every (re)connect open orders, completed orders and executions are matched
  again by ``orderRef`` (``permId`` for executions), so a restarted process sends nothing twice.
* Fills come from ``execDetails`` with their fees from ``commissionReport`` (``orderStatus`` is
  not sent for every change): a leg's fill is recorded once both arrived, or at the next
  reconciliation. A combination's BAG execution moves the order; its legs' executions are the
  fills.
* ``PendingCancel`` is not done: ``cancel`` waits for the venue's ``Cancelled`` (or a fill);
  Inactive orders too. A venue cancel we did not ask for of a DAY order is its expiry.
* While the link to IB is down (1100) or the socket is, ``submit`` raises ``BrokerUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ib_async import IB, Contract
from ib_async import Order as IbOrder

from adapters.brokers import book_reports as reports
from adapters.brokers.ibkr.capabilities import IBKR_CAPABILITIES
from adapters.brokers.ibkr.orderbook import OrderBook, Tracked
from adapters.brokers.ibkr.parsing import (
    ORDER_TYPES,
    TIFS,
    UNSET_DOUBLE,
    action_of,
    combo_contract,
    contract_for,
    instrument_of,
    signed_combo_price,
)
from adapters.brokers.ibkr.session import IbSession
from core.clock import Clock
from core.errors import BrokerUnavailable, OrderRejected
from core.messages import ExecutionEvent, OrderUpdated, PositionReport, ReconciliationReport
from core.model import (
    AccountBalance,
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Fill,
    Money,
    Order,
    OrderStatus,
    Price,
    Quantity,
)
from core.ports import BrokerCapabilities

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 1.0
"""Seconds ``poll_events`` waits for TWS's answer to its round trip before returning what it has."""


class IbkrExecution:
    """Order entry and reports of one IB account through an ``IbSession``."""

    def __init__(self, session: IbSession, account_id: AccountId, clock: Clock) -> None:
        self._session = session
        self._account_id = account_id
        self._clock = clock
        self._book = OrderBook(session, account_id, clock)

    # -- the port -----------------------------------------------------------------------------
    @property
    def account_id(self) -> AccountId:
        return self._account_id

    @property
    def capabilities(self) -> BrokerCapabilities:
        return IBKR_CAPABILITIES

    @property
    def ready(self) -> bool:
        """True while new orders can be sent (connected, link to IB up): the kernel's gate."""
        return self._session.ready

    def submit(self, order: Order) -> Order:
        with self._book.lock:
            known = self._book.orders.get(order.client_order_id)
        if known is not None:
            return known.order
        if order.account_id != self._account_id:
            raise OrderRejected(
                f"order {order.client_order_id} is for {order.account_id}, not {self._account_id}"
            )
        if not self._session.ready:
            raise BrokerUnavailable(
                "IB link down or TWS not connected: new orders are paused until it is back"
            )
        return self._session.call(self._submit(order))

    def cancel(self, client_order_id: ClientOrderId) -> Order:
        tracked = self._tracked(client_order_id)
        if tracked.order.status is OrderStatus.CANCELLED:
            return tracked.order
        if tracked.order.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {tracked.order.status}; it cannot be cancelled")
        return self._session.call(self._cancel(tracked))

    def replace(
        self,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order:
        tracked = self._tracked(client_order_id)
        old = tracked.order
        if old.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {old.status}; it cannot be replaced")
        if quantity is not None and (quantity.value <= 0 or quantity <= old.filled_quantity):
            raise OrderRejected(
                f"replace of {client_order_id}: quantity must exceed filled {old.filled_quantity}, got {quantity}"
            )
        new = replace(
            old,
            quantity=quantity or old.quantity,
            limit_price=limit_price or old.limit_price,
            stop_price=stop_price or old.stop_price,
        )
        return self._session.call(self._replace(tracked, new))

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        return reports.get_order(self._book, client_order_id)

    def poll_events(self) -> list[ExecutionEvent]:
        """Events not yet taken, including everything TWS sent before the call (a round trip
        when connected, so a caller that just moved the market sees its consequences)."""
        self._session.call(self._drain())
        return reports.take_events(self._book)

    def sync(self) -> None:
        """Return once everything TWS sent before this call has been handled (a round trip)."""
        self._session.call(self._barrier())

    def open_orders(self) -> list[Order]:
        return reports.open_orders(self._book)

    def orders_since(self, since: datetime) -> list[Order]:
        return reports.orders_since(self._book, since)

    def fills_since(self, since: datetime) -> list[Fill]:
        return reports.fills_since(self._book, since)

    def balance(self) -> AccountBalance:
        return self._session.call(self._balance())

    def report(self, since: datetime) -> ReconciliationReport:
        balance, positions = self._session.call(self._report())
        return reports.read_report(self._book, self._account_id, self._clock.now(), since, balance, positions)

    # -- on the loop: orders ------------------------------------------------------------------
    async def _submit(self, order: Order) -> Order:
        ib = self._session.require()
        now = self._clock.now()
        try:
            contract = await self._contract(ib, order)
        except OrderRejected as exc:
            rejected = order.transition(OrderStatus.REJECTED, now, str(exc))
            with self._book.lock:
                self._book.orders[order.client_order_id] = Tracked(rejected, Contract(), IbOrder())
                self._book.events.append(OrderUpdated(rejected, now))
            return rejected
        ib_order = self._ib_order(order)
        trade = ib.placeOrder(contract, ib_order)
        broker_id = BrokerOrderId(f"{ib_order.clientId}:{ib_order.orderId}")
        tracked = Tracked(order.submitted(now, broker_id), contract, trade.order)
        with self._book.lock:
            self._book.orders[order.client_order_id] = tracked
        await self._wait(tracked, lambda: tracked.order.status is not OrderStatus.SUBMITTED)
        return tracked.order

    def _ib_order(self, order: Order) -> IbOrder:
        ib_order = IbOrder(
            orderType=ORDER_TYPES[order.order_type],
            totalQuantity=float(order.quantity.value),
            tif=TIFS[order.time_in_force],
            orderRef=str(order.client_order_id),
            account=self._session.settings.account,
            transmit=True,
        )
        if order.is_multi_leg:
            ib_order.action = "BUY"
            ib_order.lmtPrice = signed_combo_price(order)
        else:
            ib_order.action = action_of(order.side)
            ib_order.lmtPrice = float(order.limit_price.value) if order.limit_price else UNSET_DOUBLE
            ib_order.auxPrice = float(order.stop_price.value) if order.stop_price else UNSET_DOUBLE
        return ib_order

    async def _contract(self, ib: IB, order: Order) -> Contract:
        if not order.is_multi_leg:
            return contract_for(order.legs[0].instrument)
        missing = [leg.instrument for leg in order.legs if leg.instrument not in self._book.con_ids]
        if missing:
            found = await ib.qualifyContractsAsync(*(contract_for(i) for i in missing))
            for instrument, contract in zip(missing, found, strict=True):
                if isinstance(contract, Contract) and contract.conId:
                    self._book.con_ids[instrument] = contract.conId
        unknown = [str(leg.instrument) for leg in order.legs if leg.instrument not in self._book.con_ids]
        if unknown:
            raise OrderRejected(f"unknown instrument {', '.join(unknown)}")
        return combo_contract(order, self._book.con_ids)

    async def _cancel(self, tracked: Tracked) -> Order:
        ib = self._session.require()
        tracked.cancel_requested = True
        tracked.refused = ""
        ib.cancelOrder(tracked.ib_order)
        await self._wait(tracked, lambda: tracked.order.status.is_terminal or bool(tracked.refused))
        if tracked.refused and not tracked.order.status.is_terminal:
            raise OrderRejected(f"cancel of {tracked.order.client_order_id} refused: {tracked.refused}")
        return tracked.order

    async def _replace(self, tracked: Tracked, new: Order) -> Order:
        ib = self._session.require()
        modified = tracked.ib_order
        modified.totalQuantity = float(new.quantity.value)
        if new.is_multi_leg:
            modified.lmtPrice = signed_combo_price(new)
        else:
            modified.lmtPrice = float(new.limit_price.value) if new.limit_price else UNSET_DOUBLE
            modified.auxPrice = float(new.stop_price.value) if new.stop_price else UNSET_DOUBLE
        tracked.refused = ""
        trade = ib.placeOrder(tracked.contract, modified)
        before = len(trade.log)

        def answered() -> bool:
            confirmed = any(e.message in ("Modified", "") for e in trade.log[before:])
            return bool(tracked.refused) or confirmed

        await self._wait(tracked, answered)
        if tracked.refused:
            raise OrderRejected(f"replace of {new.client_order_id}: {tracked.refused}")
        now = self._clock.now()
        with self._book.lock:
            updated = replace(
                tracked.order,
                quantity=new.quantity,
                limit_price=new.limit_price,
                stop_price=new.stop_price,
                updated_at=now,
            )
            tracked.order = updated
            self._book.events.append(OrderUpdated(updated, now))
        return updated

    async def _wait(self, tracked: Tracked, done: object) -> None:
        assert callable(done)
        deadline = asyncio.get_running_loop().time() + self._session.settings.ack_timeout
        while not done():
            tracked.changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(tracked.changed.wait(), left)
            except TimeoutError:
                return

    async def _drain(self) -> None:
        ib = self._session.ib
        if ib is not None and ib.isConnected():
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(self._session.round_trip(ib), DRAIN_TIMEOUT)
        await self._book.take_commissions()

    async def _barrier(self) -> None:
        ib = self._session.require()
        await self._session.round_trip(ib)
        await self._session.settle_tasks()
        await self._book.take_commissions()

    # -- on the loop: account -----------------------------------------------------------------
    async def _balance(self) -> AccountBalance:
        """From the account values TWS pushes (reqAccountUpdates), after a round trip."""
        ib = self._session.require()
        await self._session.round_trip(ib)
        account = self._session.settings.account
        values = {v.tag: v for v in ib.accountValues(account) if v.currency in ("USD", "BASE")}

        def money(tag: str) -> Money:
            v = values.get(tag)
            return Money(Decimal(v.value), "USD") if v else Money(0)

        return AccountBalance(
            self._account_id,
            money("TotalCashValue"),
            money("BuyingPower"),
            money("NetLiquidation"),
            self._clock.now(),
        )

    async def _report(self) -> tuple[AccountBalance, tuple[PositionReport, ...]]:
        ib = self._session.require()
        await self._book.reconcile(ib)
        positions = []
        async with self._session.keyed:
            held = await ib.reqPositionsAsync()
        for p in held:
            instrument = instrument_of(p.contract)
            if instrument is None or not p.position:
                continue
            avg = Decimal(str(p.avgCost)) / instrument.multiplier
            positions.append(PositionReport(instrument, Decimal(str(p.position)), Price(avg)))
        return await self._balance(), tuple(positions)

    def _tracked(self, client_order_id: ClientOrderId) -> Tracked:
        with self._book.lock:
            tracked = self._book.orders.get(client_order_id)
        if tracked is None:
            raise OrderRejected(f"unknown order {client_order_id}")
        return tracked
