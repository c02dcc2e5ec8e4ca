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
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from ib_async import IB, Contract, ExecutionFilter, Trade
from ib_async import Fill as IbFill
from ib_async import Order as IbOrder

from adapters.brokers.ibkr.capabilities import IBKR_CAPABILITIES
from adapters.brokers.ibkr.parsing import (
    DONE_CANCELLED,
    LINK_LOST,
    ORDER_REJECTED_CODES,
    ORDER_TYPES,
    TIFS,
    UNSET_DOUBLE,
    action_of,
    combo_contract,
    combo_net,
    contract_for,
    instrument_of,
    side_of,
    signed_combo_price,
)
from adapters.brokers.ibkr.session import IbSession
from core.clock import Clock
from core.errors import BrokerUnavailable, OrderRejected
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated, PositionReport, ReconciliationReport
from core.model import (
    AccountBalance,
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Fill,
    FillId,
    Instrument,
    Money,
    Order,
    OrderLeg,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    TimeInForce,
)
from core.ports import BrokerCapabilities

log = logging.getLogger(__name__)
CANCEL_REFUSED = frozenset({10147, 10148, 161})
MODIFY_REFUSED = frozenset({321, 329, 105})


@dataclass
class Tracked:
    """One of our orders at IB."""

    order: Order
    contract: Contract
    ib_order: IbOrder
    cancel_requested: bool = False
    rejected: str = ""
    refused: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.changed.set()


class IbkrExecution:
    """Order entry and reports of one IB account through an ``IbSession``."""

    def __init__(self, session: IbSession, account_id: AccountId, clock: Clock) -> None:
        self._session = session
        self._account_id = account_id
        self._clock = clock
        self._lock = threading.RLock()
        self._orders: dict[ClientOrderId, Tracked] = {}
        self._done_execs: set[str] = set()
        self._pending: dict[str, IbFill] = {}
        self._fills: list[Fill] = []
        self._events: list[ExecutionEvent] = []
        self._con_ids: dict[Instrument, int] = {}
        session.on_connect.append(self._attach)
        session.on_restore.append(lambda ib, _lost: self._reconcile(ib))
        session.on_error.append(self._on_error)

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
        with self._lock:
            known = self._orders.get(order.client_order_id)
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
        with self._lock:
            tracked = self._orders.get(client_order_id)
            return tracked.order if tracked else None

    def poll_events(self) -> list[ExecutionEvent]:
        self._session.call(self._take_commissions())
        with self._lock:
            events, self._events = self._events, []
        return events

    def sync(self) -> None:
        """Return once everything TWS sent before this call has been handled (a round trip)."""
        self._session.call(self._barrier())

    def open_orders(self) -> list[Order]:
        with self._lock:
            return [t.order for t in self._orders.values() if t.order.status.is_open]

    def orders_since(self, since: datetime) -> list[Order]:
        with self._lock:
            return [
                t.order for t in self._orders.values() if (t.order.updated_at or t.order.created_at) >= since
            ]

    def fills_since(self, since: datetime) -> list[Fill]:
        with self._lock:
            return [f for f in self._fills if f.ts >= since]

    def balance(self) -> AccountBalance:
        return self._session.call(self._balance())

    def report(self, since: datetime) -> ReconciliationReport:
        balance, positions = self._session.call(self._report())
        return ReconciliationReport(
            account_id=self._account_id,
            ts=self._clock.now(),
            open_orders=tuple(self.open_orders()),
            fills=tuple(self.fills_since(since)),
            positions=positions,
            balance=balance,
            orders=tuple(self.orders_since(since)),
        )

    # -- on the loop: orders ------------------------------------------------------------------
    async def _submit(self, order: Order) -> Order:
        ib = self._session.require()
        now = self._clock.now()
        try:
            contract = await self._contract(ib, order)
        except OrderRejected as exc:
            rejected = order.transition(OrderStatus.REJECTED, now, str(exc))
            with self._lock:
                self._orders[order.client_order_id] = Tracked(rejected, Contract(), IbOrder())
                self._events.append(OrderUpdated(rejected, now))
            return rejected
        ib_order = self._ib_order(order)
        trade = ib.placeOrder(contract, ib_order)
        broker_id = BrokerOrderId(f"{ib_order.clientId}:{ib_order.orderId}")
        tracked = Tracked(order.submitted(now, broker_id), contract, trade.order)
        with self._lock:
            self._orders[order.client_order_id] = tracked
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
        missing = [leg.instrument for leg in order.legs if leg.instrument not in self._con_ids]
        if missing:
            found = await ib.qualifyContractsAsync(*(contract_for(i) for i in missing))
            for instrument, contract in zip(missing, found, strict=True):
                if isinstance(contract, Contract) and contract.conId:
                    self._con_ids[instrument] = contract.conId
        unknown = [str(leg.instrument) for leg in order.legs if leg.instrument not in self._con_ids]
        if unknown:
            raise OrderRejected(f"unknown instrument {', '.join(unknown)}")
        return combo_contract(order, self._con_ids)

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
        with self._lock:
            updated = replace(
                tracked.order,
                quantity=new.quantity,
                limit_price=new.limit_price,
                stop_price=new.stop_price,
                updated_at=now,
            )
            tracked.order = updated
            self._events.append(OrderUpdated(updated, now))
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

    # -- on the loop: what TWS reports --------------------------------------------------------
    async def _attach(self, ib: IB) -> None:
        ib.orderStatusEvent += self._on_status
        ib.openOrderEvent += self._on_open_order
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += lambda trade, fill, report: self._on_commission(fill)
        await self._reconcile(ib)

    async def _reconcile(self, ib: IB) -> None:
        """Match open and completed orders by orderRef and take every execution not yet taken."""
        trades = [*await ib.reqOpenOrdersAsync(), *await ib.reqCompletedOrdersAsync(False)]
        for trade in trades:
            await self._adopt(ib, trade)
        answered = await ib.reqExecutionsAsync(ExecutionFilter())
        await ib.reqCurrentTimeAsync()  # commission reports trail their executions
        # ib_async files commission reports on the first Fill it made of an execution.
        kept = {f.execution.execId: f for f in ib.fills()}
        fills = [kept.get(f.execution.execId, f) for f in answered]
        for fill in sorted(fills, key=lambda f: f.time):
            self._on_exec(None, fill, from_reconcile=True)
        for trade in trades:
            self._apply_status(trade)

    async def _adopt(self, ib: IB, trade: Trade) -> None:
        ref = trade.order.orderRef
        if not ref:
            return
        cid = ClientOrderId(ref)
        with self._lock:
            tracked = self._orders.get(cid)
            if tracked is not None:
                if trade.order.orderId:
                    tracked.ib_order = trade.order
                return
        order = await self._rebuild(ib, trade, cid)
        if order is not None:
            with self._lock:
                self._orders.setdefault(cid, Tracked(order, trade.contract, trade.order))

    async def _rebuild(self, ib: IB, trade: Trade, cid: ClientOrderId) -> Order | None:
        """Our order from what TWS reports of it (after a restart)."""
        c, o = trade.contract, trade.order
        now = self._clock.now()
        tif = TimeInForce.GTC if o.tif == "GTC" else TimeInForce.DAY
        qty = Quantity(Decimal(str(o.totalQuantity)))
        broker_id = BrokerOrderId(str(o.permId))
        if c.secType == "BAG":
            legs = []
            for leg in c.comboLegs or []:
                details = await ib.reqContractDetailsAsync(Contract(conId=leg.conId))
                instrument = instrument_of(details[0].contract) if details and details[0].contract else None
                if instrument is None:
                    return None
                self._con_ids[instrument] = leg.conId
                legs.append(OrderLeg(instrument, side_of(leg.action), leg.ratio))
            net, effect = combo_net(float(o.lmtPrice or 0))
            order = Order.combo(cid, self._account_id, tuple(legs), qty, net, effect, now, tif)
        else:
            instrument = instrument_of(c)
            if instrument is None:
                return None
            kind = next(k for k, v in ORDER_TYPES.items() if v == o.orderType)
            lmt = Price(Decimal(str(o.lmtPrice))) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
            stp = Price(Decimal(str(o.auxPrice))) if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
            order = Order.single(
                cid, self._account_id, instrument, side_of(o.action), qty, now, kind, lmt, stp, tif
            )
        return order.submitted(now, broker_id).transition(OrderStatus.ACCEPTED, now)

    def _find(self, trade: Trade) -> Tracked | None:
        ref = trade.order.orderRef
        with self._lock:
            if ref:
                return self._orders.get(ClientOrderId(ref))
            return next((t for t in self._orders.values() if t.ib_order is trade.order), None)

    def _on_open_order(self, trade: Trade) -> None:
        self._session.touch()
        tracked = self._find(trade)
        if tracked is not None:
            self._set_perm(tracked, trade.order.permId)
            tracked.wake()

    def _set_perm(self, tracked: Tracked, perm_id: int) -> None:
        if perm_id and tracked.order.broker_order_id != BrokerOrderId(str(perm_id)):
            with self._lock:
                tracked.order = replace(tracked.order, broker_order_id=BrokerOrderId(str(perm_id)))

    def _on_status(self, trade: Trade) -> None:
        self._session.touch()
        self._apply_status(trade)

    def _apply_status(self, trade: Trade) -> None:
        tracked = self._find(trade)
        if tracked is None:
            return
        self._set_perm(tracked, trade.order.permId or trade.orderStatus.permId)
        status = trade.orderStatus.status
        order = tracked.order
        now = self._clock.now()
        new: Order | None = None
        if status in ("PreSubmitted", "Submitted") and order.status is OrderStatus.SUBMITTED:
            new = order.transition(OrderStatus.ACCEPTED, now)
        elif status in DONE_CANCELLED and order.status.is_open:
            last = trade.log[-1] if trade.log else None
            if last is not None and last.errorCode in ORDER_REJECTED_CODES and not tracked.rejected:
                reason = last.message.split("reason:", 1)[-1].strip() or last.message
                tracked.rejected = f"{last.errorCode}: {reason}"
            if tracked.rejected and order.status is OrderStatus.SUBMITTED:
                new = order.transition(OrderStatus.REJECTED, now, tracked.rejected)
            elif tracked.cancel_requested or order.time_in_force is TimeInForce.GTC:
                new = order.transition(OrderStatus.CANCELLED, now, "cancelled")
            else:
                new = order.transition(OrderStatus.EXPIRED, now, "cancelled by the venue: day order expired")
        if new is not None:
            with self._lock:
                tracked.order = new
                self._events.append(OrderUpdated(new, now))
        tracked.wake()

    def _on_error(self, req_id: int, code: int, message: str) -> None:
        if req_id < 0:
            return
        with self._lock:
            tracked = next(
                (t for t in self._orders.values() if t.ib_order.orderId == req_id and t.ib_order.orderId),
                None,
            )
        if tracked is None:
            return
        order = tracked.order
        if (code in ORDER_REJECTED_CODES or code == LINK_LOST) and order.status is OrderStatus.SUBMITTED:
            reason = message.split("reason:", 1)[-1].strip() or message
            tracked.rejected = f"{code}: {reason}"
            now = self._clock.now()
            rejected = order.transition(OrderStatus.REJECTED, now, tracked.rejected)
            with self._lock:
                tracked.order = rejected
                self._events.append(OrderUpdated(rejected, now))
        elif code in CANCEL_REFUSED or code in MODIFY_REFUSED:
            tracked.refused = f"{code}: {message}"
        tracked.wake()

    def _on_exec(self, trade: Trade | None, fill: IbFill, from_reconcile: bool = False) -> None:
        self._session.touch()
        exec_id = fill.execution.execId
        if exec_id in self._done_execs:
            return
        if fill.contract.secType == "BAG":
            self._record(fill, Decimal(0))
        elif from_reconcile or fill.commissionReport.execId == exec_id:
            self._record(fill, Decimal(str(fill.commissionReport.commission)))
        else:
            self._pending[exec_id] = fill

    def _on_commission(self, fill: IbFill) -> None:
        pending = self._pending.pop(fill.execution.execId, None)
        if pending is not None:
            self._record(pending, Decimal(str(fill.commissionReport.commission)))

    async def _take_commissions(self) -> None:
        for exec_id, fill in list(self._pending.items()):
            if fill.commissionReport.execId == exec_id:
                self._on_commission(fill)

    async def _barrier(self) -> None:
        ib = self._session.require()
        await ib.reqCurrentTimeAsync()
        await self._session.settle_tasks()
        await self._take_commissions()

    def _record(self, ib_fill: IbFill, commission: Decimal) -> None:
        """One execution: the order moves (single leg, or a combination's BAG), legs are fills."""
        ex = ib_fill.execution
        with self._lock:
            tracked = self._orders.get(ClientOrderId(ex.orderRef)) if ex.orderRef else None
            if tracked is None:
                log.warning("execution %s of an order we do not know (ref %r)", ex.execId, ex.orderRef)
                return
            self._done_execs.add(ex.execId)
            order = tracked.order
            ts = ex.time
            self._set_perm(tracked, ex.permId)
            order = tracked.order
            qty = Quantity(Decimal(str(ex.shares)))
            if ib_fill.contract.secType != "BAG":
                instrument = instrument_of(ib_fill.contract)
                assert instrument is not None
                fill = Fill(
                    fill_id=FillId(ex.execId),
                    client_order_id=order.client_order_id,
                    account_id=self._account_id,
                    instrument=instrument,
                    side=side_of(ex.side),
                    quantity=qty,
                    price=Price(Decimal(str(ex.price))),
                    ts=ts,
                    commission=Money(commission),
                    broker_order_id=order.broker_order_id,
                )
                self._fills.append(fill)
                self._events.append(OrderFilled(fill))
            moves_order = (ib_fill.contract.secType == "BAG") == order.is_multi_leg
            if moves_order and order.status.is_open and qty <= order.leaves_quantity:
                price = combo_net(ex.price)[0] if order.is_multi_leg else Price(Decimal(str(ex.price)))
                if order.status is OrderStatus.SUBMITTED:
                    order = order.transition(OrderStatus.ACCEPTED, ts)
                tracked.order = order.with_fill(qty, price, ts)
                self._events.append(OrderUpdated(tracked.order, ts))
        tracked.wake()

    # -- on the loop: account -----------------------------------------------------------------
    async def _balance(self) -> AccountBalance:
        """From the account values TWS pushes (reqAccountUpdates), after a round trip."""
        ib = self._session.require()
        await ib.reqCurrentTimeAsync()
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
        await self._reconcile(ib)
        positions = []
        for p in await ib.reqPositionsAsync():
            instrument = instrument_of(p.contract)
            if instrument is None or not p.position:
                continue
            avg = Decimal(str(p.avgCost)) / instrument.multiplier
            positions.append(PositionReport(instrument, Decimal(str(p.position)), Price(avg)))
        return await self._balance(), tuple(positions)

    def _tracked(self, client_order_id: ClientOrderId) -> Tracked:
        with self._lock:
            tracked = self._orders.get(client_order_id)
        if tracked is None:
            raise OrderRejected(f"unknown order {client_order_id}")
        return tracked
