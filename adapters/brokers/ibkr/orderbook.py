"""``OrderBook``: what the IBKR adapter knows of its orders, kept up to date from TWS's reports.

Every handler runs on the session's loop (ib_async events) and changes state under ``lock``:
open and completed orders are matched by ``orderRef`` after each connect (``reconcile``);
``orderStatus`` moves an order's status, never its fills; executions (``execDetails``) are
recorded once their ``commissionReport`` arrived (or at the next reconciliation), a
combination's BAG execution moving the order and its legs' executions being the fills.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
from decimal import Decimal

from ib_async import IB, Contract, ExecutionFilter, Trade
from ib_async import Fill as IbFill
from ib_async import Order as IbOrder

from adapters.brokers.ibkr.parsing import (
    DONE_CANCELLED,
    LINK_LOST,
    ORDER_REJECTED_CODES,
    ORDER_TYPE_OF,
    combo_net,
    instrument_of,
    side_of,
)
from adapters.brokers.ibkr.session import IbSession
from core.clock import Clock
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import (
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


class OrderBook:
    """The orders, fills and undelivered events of one account at IB (see the module docstring)."""

    def __init__(self, session: IbSession, account_id: AccountId, clock: Clock) -> None:
        self._session = session
        self._account_id = account_id
        self._clock = clock
        self.lock = threading.RLock()
        self.orders: dict[ClientOrderId, Tracked] = {}
        self.fills: list[Fill] = []
        self.events: list[ExecutionEvent] = []
        self.con_ids: dict[Instrument, int] = {}
        self._done_execs: set[str] = set()
        self._pending: dict[str, IbFill] = {}
        self._reconciling = asyncio.Lock()
        session.on_connect.append(self.attach)
        session.on_restore.append(lambda ib, _lost: self.reconcile(ib))
        session.on_error.append(self._on_error)

    def tracked(self, client_order_id: ClientOrderId) -> Tracked | None:
        with self.lock:
            return self.orders.get(client_order_id)

    async def attach(self, ib: IB) -> None:
        ib.orderStatusEvent += self._on_status
        ib.openOrderEvent += self._on_open_order
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += lambda trade, fill, report: self._on_commission(fill)
        await self.reconcile(ib)

    async def reconcile(self, ib: IB) -> None:
        """Match open and completed orders by orderRef and take every execution not yet taken.

        One at a time: ib_async keys open- and completed-order requests by name, so two
        concurrent ones would share (and lose) an answer."""
        async with self._reconciling:
            await self._reconcile(ib)

    async def _reconcile(self, ib: IB) -> None:
        trades = [*await ib.reqOpenOrdersAsync(), *await ib.reqCompletedOrdersAsync(False)]
        for trade in trades:
            await self._adopt(ib, trade)
        answered = await ib.reqExecutionsAsync(ExecutionFilter())
        await self._session.round_trip(ib)  # commission reports trail their executions
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
        with self.lock:
            tracked = self.orders.get(cid)
            if tracked is not None:
                if trade.order.orderId:
                    tracked.ib_order = trade.order
                return
        order = await self._rebuild(ib, trade, cid)
        if order is not None:
            with self.lock:
                self.orders.setdefault(cid, Tracked(order, trade.contract, trade.order))

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
                self.con_ids[instrument] = leg.conId
                legs.append(OrderLeg(instrument, side_of(leg.action), leg.ratio))
            net, effect = combo_net(float(o.lmtPrice or 0))
            order = Order.combo(cid, self._account_id, tuple(legs), qty, net, effect, now, tif)
        else:
            instrument = instrument_of(c)
            if instrument is None:
                return None
            kind = ORDER_TYPE_OF[o.orderType]
            lmt = Price(Decimal(str(o.lmtPrice))) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
            stp = Price(Decimal(str(o.auxPrice))) if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
            order = Order.single(
                cid, self._account_id, instrument, side_of(o.action), qty, now, kind, lmt, stp, tif
            )
        return order.submitted(now, broker_id).transition(OrderStatus.ACCEPTED, now)

    def _find(self, trade: Trade) -> Tracked | None:
        ref = trade.order.orderRef
        with self.lock:
            if ref:
                return self.orders.get(ClientOrderId(ref))
            return next((t for t in self.orders.values() if t.ib_order is trade.order), None)

    def _on_open_order(self, trade: Trade) -> None:
        self._session.touch()
        tracked = self._find(trade)
        if tracked is not None:
            self._set_perm(tracked, trade.order.permId)
            tracked.wake()

    def _set_perm(self, tracked: Tracked, perm_id: int) -> None:
        if perm_id and tracked.order.broker_order_id != BrokerOrderId(str(perm_id)):
            with self.lock:
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
            with self.lock:
                tracked.order = new
                self.events.append(OrderUpdated(new, now))
        tracked.wake()

    def _on_error(self, req_id: int, code: int, message: str) -> None:
        if req_id < 0:
            return
        with self.lock:
            tracked = next(
                (t for t in self.orders.values() if t.ib_order.orderId == req_id and t.ib_order.orderId),
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
            with self.lock:
                tracked.order = rejected
                self.events.append(OrderUpdated(rejected, now))
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

    async def take_commissions(self) -> None:
        for exec_id, fill in list(self._pending.items()):
            if fill.commissionReport.execId == exec_id:
                self._on_commission(fill)

    def _record(self, ib_fill: IbFill, commission: Decimal) -> None:
        """One execution: the order moves (single leg, or a combination's BAG), legs are fills."""
        ex = ib_fill.execution
        with self.lock:
            tracked = self.orders.get(ClientOrderId(ex.orderRef)) if ex.orderRef else None
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
                self.fills.append(fill)
                self.events.append(OrderFilled(fill))
            moves_order = (ib_fill.contract.secType == "BAG") == order.is_multi_leg
            if moves_order and order.status.is_open and qty <= order.leaves_quantity:
                price = combo_net(ex.price)[0] if order.is_multi_leg else Price(Decimal(str(ex.price)))
                if order.status is OrderStatus.SUBMITTED:
                    order = order.transition(OrderStatus.ACCEPTED, ts)
                tracked.order = order.with_fill(qty, price, ts)
                self.events.append(OrderUpdated(tracked.order, ts))
        tracked.wake()
