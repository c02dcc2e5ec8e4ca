"""The fake TWS's orders: placement (BAG too), modification, cancel, and what the exchange did
to them reported as TWS does (openOrder, orderStatus, execDetails, commissionReport)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from adapters.brokers.ibkr.parsing import (
    ORDER_TYPE_OF,
    ORDER_TYPES,
    TIFS,
    UNSET_DOUBLE,
    combo_net,
    ib_time,
    side_of,
    signed_combo_price,
)
from core.errors import RaydeskError
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import (
    ClientOrderId,
    Fill,
    Instrument,
    Order,
    OrderLeg,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    TimeInForce,
)
from simulators.ibkr import messages as m
from simulators.ibkr.base import Session, TwsState, con_id_of, exec_id_of, perm_id_of
from simulators.ibkr.wire import FieldReader

BAG_CON_ID = 28812380
"""The contract id TWS reports for a combination."""
STATUS_OF: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "PendingSubmit",
    OrderStatus.SUBMITTED: "PreSubmitted",
    OrderStatus.ACCEPTED: "Submitted",
    OrderStatus.PARTIALLY_FILLED: "Submitted",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.EXPIRED: "Cancelled",
    OrderStatus.REJECTED: "Cancelled",
}


@dataclass
class VenueOrder:
    """An order as TWS knows it: ids, the contract it was placed on, its raydesk order."""

    order_id: int
    client_id: int
    perm_id: int
    contract: m.WireContract
    action: str
    order_type: str
    limit: float
    aux: float
    tif: str
    order_ref: str
    order: Order
    executions: list[m.WireExecution] = field(default_factory=list)
    pending_legs: list[Fill] = field(default_factory=list)

    def wire(self, account: str) -> m.WireOrder:
        order = self.order
        return m.WireOrder(
            self.order_id, self.client_id, self.perm_id, self.contract, self.action,
            float(order.quantity.value), self.order_type, self.limit, self.aux, self.tif, account,
            self.order_ref, STATUS_OF[order.status], float(order.filled_quantity.value),
            ib_time(order.updated_at or order.created_at) if order.status.is_terminal else "",
        )  # fmt: skip


class OrderDesk(TwsState):
    """Orders of ``FakeTws`` (a mixin over its state)."""

    orders: dict[int, VenueOrder]
    by_ref: dict[str, int]
    next_ids: dict[int, int]
    place_orders: int
    refs: list[str]
    link_down: bool
    holding_cancels: bool
    held_cancels: list[VenueOrder]

    def _on_event(self, event: ExecutionEvent) -> None:
        if isinstance(event, OrderFilled):
            vo = self._venue_order(event.fill.client_order_id)
            if vo is None:
                return
            if vo.contract.sec_type == "BAG":
                vo.pending_legs.append(event.fill)
            fill = event.fill
            self._execution(vo, str(fill.fill_id), fill.instrument, fill, fill.quantity, fill.price)
            return
        assert isinstance(event, OrderUpdated)
        vo = self._venue_order(event.order.client_order_id)
        if vo is None:
            return
        before = vo.order.filled_quantity
        vo.order = event.order
        if vo.contract.sec_type == "BAG" and event.order.filled_quantity > before:
            self._bag_execution(vo, event.order.filled_quantity - before)
        self._status(vo)

    def adopt_open_orders(self, client_id: int) -> None:
        """The exchange's working orders, as a restarted TWS still holds them (for ``client_id``)."""
        for order in self.exchange.open_orders(self.account_id):
            ref = str(order.client_order_id)
            if ref in self.by_ref:
                continue
            order_id = self.next_ids.get(client_id, 1)
            self.next_ids[client_id] = order_id + 1
            for leg in order.legs:
                self.listed.setdefault(con_id_of(leg.instrument), leg.instrument)
            if order.is_multi_leg:
                legs = tuple(
                    (con_id_of(g.instrument), g.ratio, "BUY" if g.side.sign > 0 else "SELL")
                    for g in order.legs
                )
                contract = m.WireContract(BAG_CON_ID, order.legs[0].instrument.underlying, "BAG", legs=legs)
                action = "BUY"
                limit = signed_combo_price(order)
            else:
                contract = m.wire_contract(order.instrument, con_id_of(order.instrument))
                action = "BUY" if order.side.sign > 0 else "SELL"
                limit = float(order.limit_price.value) if order.limit_price else UNSET_DOUBLE
            aux = float(order.stop_price.value) if order.stop_price else UNSET_DOUBLE
            kind = ORDER_TYPES[order.order_type]
            vo = VenueOrder(order_id, client_id, perm_id_of(ref), contract, action, kind, limit, aux,
                            TIFS[order.time_in_force], ref, order)  # fmt: skip
            self.orders[vo.perm_id] = vo
            self.by_ref[ref] = vo.perm_id

    def _venue_order(self, cid: ClientOrderId) -> VenueOrder | None:
        perm = self.by_ref.get(str(cid))
        return self.orders.get(perm) if perm is not None else None

    def _execution(
        self,
        vo: VenueOrder,
        key: str,
        instrument: Instrument | None,
        fill: Fill | None,
        qty: Quantity,
        price: Price,
    ) -> None:
        contract = m.wire_contract(instrument, con_id_of(instrument)) if instrument else vo.contract
        same = [e for e in vo.executions if e.contract.con_id == contract.con_id]
        cum = sum(e.shares for e in same) + float(qty.value)
        avg = (sum(e.shares * e.price for e in same) + float(qty.value) * float(price.value)) / cum
        side = fill.side if fill else side_of(vo.action)
        execution = m.WireExecution(
            exec_id_of(vo.perm_id, key), vo.order_id, vo.client_id, vo.perm_id, contract,
            fill.ts if fill else self.clock.now(), self.ib_account, "BOT" if side.sign > 0 else "SLD",
            float(qty.value), float(price.value), cum, avg, vo.order_ref,
            float(fill.commission.amount) if fill else 0.0,
        )  # fmt: skip
        vo.executions.append(execution)
        for session in self._clients(vo.client_id):
            session.send(*m.exec_details(-1, execution))
            session.send(*m.commission_report(execution))

    def _bag_execution(self, vo: VenueOrder, combos: Quantity) -> None:
        """TWS reports a combination's fill once per leg and once for the BAG at its net price."""
        signed = sum(f.price.value * f.quantity.value * f.side.sign for f in vo.pending_legs) / combos.value
        vo.pending_legs.clear()
        key = f"{vo.order_ref}|bag|{vo.order.filled_quantity}"
        self._execution(vo, key, None, None, combos, Price(signed))

    def _status(self, vo: VenueOrder, status: str = "") -> None:
        """openOrder and orderStatus of ``vo`` (``status``: TWS's word instead of the exchange's)."""
        order = vo.order
        wire = vo.wire(self.ib_account)
        wire = replace(wire, status=status) if status else wire
        avg = float(order.avg_fill_price.value) if order.avg_fill_price else 0.0
        last = vo.executions[-1].price if vo.executions else 0.0
        for session in self._clients(vo.client_id):
            if order.status is OrderStatus.REJECTED:
                session.send(*m.error(vo.order_id, 201, f"Order rejected - reason:{order.reason}"))
            session.send(*m.open_order(wire))
            session.send(*m.order_status(wire, float(order.leaves_quantity.value), avg, last))

    def _place_order(self, s: Session, r: FieldReader) -> None:
        order_id = r.next_int()
        _, instrument, sec_type = self._read_contract(r)
        r.skip(2)  # secIdType, secId
        action, qty, order_type, limit, aux, tif = (
            r.next_str(),
            r.next_float(),
            r.next_str(),
            r.next_str(),
            r.next_str(),
            r.next_str(),
        )
        r.skip(2)  # ocaGroup, account
        r.skip(2)  # openClose, origin
        order_ref = r.next_str()
        r.skip(8)  # transmit .. hidden
        legs: list[tuple[int, int, str]] = []
        if sec_type == "BAG":
            for _ in range(r.next_int()):
                legs.append((r.next_int(), r.next_int(), r.next_str()))
                r.skip(5)
        lmt = float(limit) if limit else UNSET_DOUBLE
        stp = float(aux) if aux else UNSET_DOUBLE
        self.next_ids[s.client_id] = max(self.next_ids.get(s.client_id, 1), order_id + 1)
        key = next(
            (p for p, o in self.orders.items() if (o.client_id, o.order_id) == (s.client_id, order_id)), None
        )
        if key is not None:
            self._modify(s, self.orders[key], qty, lmt, stp)
            return
        if self.link_down:
            s.send(*m.error(order_id, 1100, "Connectivity between IB and Trader Workstation has been lost."))
            return
        self.refs.append(order_ref)
        if order_ref in self.by_ref or not order_ref:
            s.send(
                *m.error(
                    order_id, 201, f"Order rejected - reason:duplicate or empty order reference {order_ref!r}"
                )
            )
            return
        try:
            order = self._domain_order(order_ref, instrument, legs, action, qty, order_type, lmt, stp, tif)
        except (RaydeskError, ValueError, KeyError) as exc:
            s.send(*m.error(order_id, 201, f"Order rejected - reason:{exc}"))
            return
        perm = perm_id_of(order_ref)
        if sec_type == "BAG":
            contract = m.WireContract(
                BAG_CON_ID, order.legs[0].instrument.underlying, "BAG", legs=tuple(legs)
            )
        else:
            assert instrument is not None
            contract = m.wire_contract(instrument, con_id_of(instrument))
        vo = VenueOrder(
            order_id, s.client_id, perm, contract, action, order_type, lmt, stp, tif, order_ref, order
        )
        self.place_orders += 1
        try:
            self.exchange.submit(order)
        except Exception as exc:  # the venue failing is TWS rejecting the order, not a dropped socket
            s.send(*m.error(order_id, 201, f"Order rejected - reason:the venue failed: {exc!r}"))
            return
        self.orders[perm] = vo
        self.by_ref[order_ref] = perm
        self.pump()

    def _domain_order(
        self,
        ref: str,
        instrument: Instrument | None,
        legs: list[tuple[int, int, str]],
        action: str,
        qty: float,
        order_type: str,
        lmt: float,
        stp: float,
        tif: str,
    ) -> Order:
        now = self.clock.now()
        cid = ClientOrderId(ref)
        quantity = Quantity(Decimal(str(qty)))
        time_in_force = TimeInForce.GTC if tif == "GTC" else TimeInForce.DAY
        if legs:
            combo = tuple(OrderLeg(self.listed[c], side_of(a), ratio) for c, ratio, a in legs)
            if action != "BUY":
                combo = tuple(replace(leg, side=leg.side.opposite) for leg in combo)
                lmt = -lmt if lmt != UNSET_DOUBLE else lmt
            if lmt == UNSET_DOUBLE:
                return Order(cid, self.account_id, combo, quantity, OrderType.MARKET, now, time_in_force)
            net, effect = combo_net(lmt)
            return Order.combo(cid, self.account_id, combo, quantity, net, effect, now, time_in_force)
        if instrument is None:
            raise ValueError("no security definition has been found for the request")
        kind = ORDER_TYPE_OF[order_type]
        return Order.single(
            cid, self.account_id, instrument, side_of(action), quantity, now, kind,
            Price(Decimal(str(lmt))) if lmt != UNSET_DOUBLE else None,
            Price(Decimal(str(stp))) if stp != UNSET_DOUBLE else None, time_in_force,
        )  # fmt: skip

    def _modify(self, s: Session, vo: VenueOrder, qty: float, lmt: float, stp: float) -> None:
        before = vo.limit, vo.aux
        vo.limit, vo.aux = lmt, stp
        try:
            self.exchange.replace(
                self.account_id,
                vo.order.client_order_id,
                Quantity(Decimal(str(qty))),
                Price(Decimal(str(abs(lmt)))) if lmt != UNSET_DOUBLE else None,
                Price(Decimal(str(stp))) if stp != UNSET_DOUBLE else None,
            )
        except RaydeskError as exc:
            vo.limit, vo.aux = before
            s.send(*m.error(vo.order_id, 321, f"Error validating request: modify rejected: {exc}"))
            self._status(vo)
            return
        self.pump()

    def _cancel_order(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        order_id = r.next_int()
        vo = next(
            (o for o in self.orders.values() if (o.client_id, o.order_id) == (s.client_id, order_id)), None
        )
        if vo is None:
            s.send(*m.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."))
            return
        if vo.order.status.is_terminal:
            s.send(
                *m.error(
                    order_id,
                    10148,
                    f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {STATUS_OF[vo.order.status]}.",
                )
            )
            return
        if self.holding_cancels:
            self.held_cancels.append(vo)
            self._status(vo, "PendingCancel")
            return
        self._confirm_cancel(vo)

    def _confirm_cancel(self, vo: VenueOrder) -> None:
        if vo.order.status.is_terminal:
            return
        self.exchange.cancel(self.account_id, vo.order.client_order_id)
        for session in self._clients(vo.client_id):
            session.send(*m.error(vo.order_id, 202, "Order Canceled - reason:"))
        self.pump()

    def hold_cancels(self, holding: bool) -> None:
        """While holding, cancels stay PendingCancel; releasing confirms the held ones."""
        self.holding_cancels = holding
        if not holding:
            held, self.held_cancels = self.held_cancels, []
            for vo in held:
                self._confirm_cancel(vo)

    def mark_inactive(self, client_order_id: ClientOrderId) -> None:
        """Report an order Inactive (as TWS does for one it holds, e.g. outside its hours)."""
        vo = self._venue_order(client_order_id)
        if vo is not None:
            self._status(vo, "Inactive")

    def _req_open_orders(self, s: Session, r: FieldReader) -> None:
        for vo in self.orders.values():
            if vo.client_id == s.client_id and vo.order.status.is_open:
                wire = vo.wire(self.ib_account)
                s.send(*m.open_order(wire))
                avg = float(vo.order.avg_fill_price.value) if vo.order.avg_fill_price else 0.0
                s.send(*m.order_status(wire, float(vo.order.leaves_quantity.value), avg, 0.0))
        s.send(53, 1)

    def _req_completed(self, s: Session, r: FieldReader) -> None:
        for vo in self.orders.values():
            if vo.order.status.is_terminal:
                s.send(*m.completed_order(vo.wire(self.ib_account)))
        s.send(102)

    def _req_executions(self, s: Session, r: FieldReader) -> None:
        r.skip(1)
        req_id = r.next_int()
        for vo in self.orders.values():
            for execution in vo.executions:
                s.send(*m.exec_details(req_id, execution))
                s.send(*m.commission_report(execution))
        s.send(55, 1, req_id)
