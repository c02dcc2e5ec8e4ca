"""``FakeTws``: a TWS API socket server with a ``SimExchange`` behind it.

It speaks the text protocol as ib_async 2.1 uses it (see ``messages``): the handshake, start
API, managed accounts and next valid id, the start-up fetches and their end markers, orders
(BAG combinations too) with openOrder/orderStatus/execDetails/commissionReport, executions,
completed orders, positions, account values, market data with model greeks, contract details,
option chain parameters, historical bars, errors. Its own asyncio loop runs in a thread; every
touch of the exchange happens on that loop, so callers in other threads go through ``call``.

Faults a test injects: connection codes (1100, 1101 with the session's subscriptions dropped,
1102, farm codes), a dropped socket, refused connections (TWS down or in its nightly reset),
and a client id held by another session (326).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar, runtime_checkable

import polars as pl

from adapters.brokers.ibkr.parsing import (
    UNSET_DOUBLE,
    combo_net,
    duration_seconds,
    ib_time,
    instrument_from_fields,
    parse_ib_time,
    side_of,
)
from adapters.brokers.sim import SimExchange
from core.clock import Clock
from core.errors import RaydeskError
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    Instrument,
    InstrumentId,
    OptionContract,
    OptionQuote,
    Order,
    OrderLeg,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    TimeInForce,
)
from simulators.ibkr import messages as m
from simulators.ibkr.wire import (
    SERVER_VERSION,
    Field,
    FieldReader,
    fields_of,
    frame,
    read_frame,
    read_handshake,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

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
ORDER_TYPE_OF = {
    "MKT": OrderType.MARKET,
    "LMT": OrderType.LIMIT,
    "STP": OrderType.STOP,
    "STP LMT": OrderType.STOP_LIMIT,
}


BAR_SIZES = {"1 min": "1m", "1 day": "1d"}
DEEP = 1_000_000.0


@runtime_checkable
class ChainMarket(Protocol):
    """Where the fake takes option chains (and their model greeks) from: ``SyntheticMarket``."""

    def option_chain(self, underlying: str, ts: datetime, /) -> list[OptionQuote]: ...


@runtime_checkable
class BarMarket(Protocol):
    """Where the fake takes historical bars from: ``SyntheticMarket``."""

    def bars(self, symbol: str, start: datetime, end: datetime, timeframe: str) -> pl.DataFrame: ...


def con_id_of(instrument: Instrument) -> int:
    """A stable contract id per instrument (TWS's are stable too)."""
    return int(hashlib.sha256(str(instrument.id).encode()).hexdigest()[:7], 16) + 1000


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


@dataclass
class Session:
    """One connected API client."""

    writer: asyncio.StreamWriter
    client_id: int = -1
    ticks: dict[int, Instrument] = field(default_factory=dict)
    sent: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def send(self, *fields: Field) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame(*fields))


class FakeTws:
    """A fake TWS serving one account of ``exchange``; ``start`` binds it and runs its loop."""

    def __init__(
        self,
        exchange: SimExchange,
        clock: Clock,
        account_id: AccountId,
        chains: ChainMarket | None = None,
        bars: BarMarket | None = None,
        ib_account: str = "DU1234567",
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.account_id = account_id
        self.chains = chains
        self.bars = bars
        self.ib_account = ib_account
        self.host = "127.0.0.1"
        self.port = 0
        self.sessions: list[Session] = []
        self.orders: dict[int, VenueOrder] = {}
        self.by_ref: dict[str, int] = {}
        self.listed: dict[int, Instrument] = {}
        self.held_client_ids: set[int] = set()
        self.next_ids: dict[int, int] = {}
        self.place_orders = 0
        """placeOrder messages received that created an order (modifications excluded)."""
        self.refs: list[str] = []
        """The orderRef of every new-order placeOrder received, refused duplicates included."""
        self.link_down = False
        self._perm = 0
        self._exec_seq = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-tws", daemon=True)

    # -- life cycle (any thread) --------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._thread.start()
        self.call(self._listen(port))

    def call(self, work: Coroutine[Any, Any, T] | Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``work`` (a coroutine or a plain function) on the server's loop; its result."""

        async def run() -> T:
            if asyncio.iscoroutine(work):
                return await work
            assert callable(work)
            return work()

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- faults (on the loop: call through ``call``) ------------------------------------------
    async def drop(self) -> None:
        """Close every client socket (TWS restarted, a network blip)."""
        for session in list(self.sessions):
            session.writer.close()
        self.sessions.clear()
        await asyncio.sleep(0)

    async def refuse(self, refusing: bool) -> None:
        """Stop (or resume) accepting connections on the same port."""
        if refusing and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            await self.drop()
        elif not refusing and self._server is None:
            await self._listen(self.port)

    def broadcast_code(self, code: int, message: str) -> None:
        """A connection or farm code (reqId -1) to every client; 1101 also drops their
        market-data lines, as TWS does when it lost them; 1100 stops order routing."""
        if code == 1100:
            self.link_down = True
        if code in (1101, 1102):
            self.link_down = False
        for session in self.sessions:
            if code == 1101:
                session.ticks.clear()
                session.sent.clear()
            session.send(*m.error(-1, code, message))

    def list_options(self, contracts: list[OptionContract]) -> None:
        for contract in contracts:
            self.listed[con_id_of(contract)] = contract

    # -- the exchange, then everything it produced, to the clients ----------------------------
    def pump(self) -> None:
        """Send what the exchange produced since the last pump, then fresh quotes."""
        events = self.exchange.poll_events(self.account_id)
        for event in events:
            self._on_event(event)
        if events:
            self._push_account()
        self._send_ticks()

    def _push_account(self) -> None:
        """TWS pushes account values to clients subscribed with reqAccountUpdates."""
        for session in self.sessions:
            for key, value in self._values():
                session.send(6, 2, key, value, "USD", self.ib_account)

    def _on_event(self, event: ExecutionEvent) -> None:
        if isinstance(event, OrderFilled):
            vo = self._venue_order(event.fill.client_order_id)
            if vo is None:
                return
            if vo.contract.sec_type == "BAG":
                vo.pending_legs.append(event.fill)
            self._execution(vo, event.fill.instrument, event.fill, event.fill.quantity, event.fill.price)
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

    def _venue_order(self, cid: ClientOrderId) -> VenueOrder | None:
        perm = self.by_ref.get(str(cid))
        return self.orders.get(perm) if perm is not None else None

    def _execution(
        self, vo: VenueOrder, instrument: Instrument | None, fill: Fill | None, qty: Quantity, price: Price
    ) -> None:
        self._exec_seq += 1
        contract = m.wire_contract(instrument, con_id_of(instrument)) if instrument else vo.contract
        same = [e for e in vo.executions if e.contract.con_id == contract.con_id]
        cum = sum(e.shares for e in same) + float(qty.value)
        avg = (sum(e.shares * e.price for e in same) + float(qty.value) * float(price.value)) / cum
        side = fill.side if fill else side_of(vo.action)
        execution = m.WireExecution(
            f"{vo.perm_id:08x}.{self._exec_seq:08x}.01.01", vo.order_id, vo.client_id, vo.perm_id, contract,
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
        self._execution(vo, None, None, combos, Price(signed))

    def _status(self, vo: VenueOrder) -> None:
        order = vo.order
        wire = vo.wire(self.ib_account)
        avg = float(order.avg_fill_price.value) if order.avg_fill_price else 0.0
        last = vo.executions[-1].price if vo.executions else 0.0
        for session in self._clients(vo.client_id):
            if order.status is OrderStatus.REJECTED:
                session.send(*m.error(vo.order_id, 201, f"Order rejected - reason:{order.reason}"))
            session.send(*m.open_order(wire))
            session.send(*m.order_status(wire, float(order.leaves_quantity.value), avg, last))

    def _clients(self, client_id: int) -> list[Session]:
        return [s for s in self.sessions if s.client_id in (client_id, 0)]

    def _send_ticks(self) -> None:
        chains: dict[str, dict[InstrumentId, OptionQuote]] = {}
        for session in self.sessions:
            for req_id, instrument in list(session.ticks.items()):
                quote = self.exchange.last_quote(instrument.id)
                greeks = None
                if isinstance(instrument, OptionContract) and self.chains is not None:
                    if instrument.underlying not in chains:
                        chains[instrument.underlying] = self._chain(instrument.underlying)
                    greeks = chains[instrument.underlying].get(instrument.id)
                    quote = quote or (greeks.quote if greeks else None)
                if quote is None:
                    continue
                key = (quote.bid, quote.ask, quote.bid_size, quote.ask_size, greeks)
                if session.sent.get(req_id) == key:
                    continue
                session.sent[req_id] = key
                # TWS never quotes a side without size; the exchange's 0 means "deep".
                session.send(*m.tick_price(req_id, 1, float(quote.bid.value), quote.bid_size or DEEP))
                session.send(*m.tick_price(req_id, 2, float(quote.ask.value), quote.ask_size or DEEP))
                if greeks is not None:
                    session.send(
                        *m.option_computation(
                            req_id,
                            greeks.iv,
                            greeks.delta,
                            greeks.theo or float(quote.mid.value),
                            greeks.gamma,
                            greeks.vega,
                            greeks.theta,
                            greeks.underlying_price,
                        )
                    )

    def _chain(self, underlying: str) -> dict[InstrumentId, OptionQuote]:
        if self.chains is None:
            return {}
        try:
            chain = self.chains.option_chain(underlying, self.clock.now())
        except RaydeskError:
            return {}
        for q in chain:
            self.listed.setdefault(con_id_of(q.contract), q.contract)
        return {q.contract.id: q for q in chain}

    # -- connections -------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(writer)
        try:
            _low, high = await read_handshake(reader)
            writer.write(frame(min(high, SERVER_VERSION), ib_time(self.clock.now())))
            while True:
                fields = fields_of(await read_frame(reader))
                if not self._handle(session, FieldReader(fields), int(fields[0])):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            if session in self.sessions:
                self.sessions.remove(session)
            writer.close()

    def _handle(self, s: Session, r: FieldReader, msg_id: int) -> bool:
        r.skip(1)
        handler = self._handlers().get(msg_id)
        if handler is None:
            log.debug("fake TWS ignores message %s", msg_id)
            return True
        return handler(s, r) is not False

    def _handlers(self) -> dict[int, Callable[[Session, FieldReader], bool | None]]:
        return {
            71: self._start_api, 1: self._req_mkt_data, 2: self._cancel_mkt_data, 3: self._place_order,
            4: self._cancel_order, 5: self._req_open_orders, 6: self._req_account_updates,
            7: self._req_executions, 9: self._req_contract_details, 20: self._req_historical,
            49: self._req_current_time, 61: self._req_positions, 62: self._req_account_summary,
            76: self._req_account_multi, 78: self._req_sec_def, 99: self._req_completed,
        }  # fmt: skip

    def _start_api(self, s: Session, r: FieldReader) -> bool:
        r.skip(1)
        client_id = r.next_int()
        taken = {x.client_id for x in self.sessions} | self.held_client_ids
        if client_id in taken:
            s.send(
                *m.error(
                    -1,
                    326,
                    "Unable to connect as the client id is already in use. Retry with a unique client id.",
                )
            )
            return False
        s.client_id = client_id
        self.sessions.append(s)
        s.send(15, 1, self.ib_account)
        s.send(9, 1, self.next_ids.get(client_id, 1))
        for code, text in ((2104, "usfarm"), (2106, "ushmds"), (2158, "secdefnj")):
            s.send(*m.error(-1, code, f"Farm connection is OK:{text}"))
        return True

    # -- orders ------------------------------------------------------------------------------
    def _read_contract(self, r: FieldReader) -> tuple[int, Instrument | None, str]:
        con_id, symbol, sec_type, expiry = r.next_int(), r.next_str(), r.next_str(), r.next_str()
        strike, right, multiplier = r.next_float(), r.next_str(), r.next_str()
        r.skip(4)  # exchange, primaryExchange, currency, localSymbol
        trading_class = r.next_str()
        if con_id and con_id in self.listed:
            return con_id, self.listed[con_id], sec_type
        try:
            instrument = instrument_from_fields(
                symbol, sec_type, expiry, strike, right, multiplier, trading_class
            )
        except (RaydeskError, ValueError):
            instrument = None
        if instrument is not None:
            self.listed.setdefault(con_id_of(instrument), instrument)
        return con_id, instrument, sec_type

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
        self._perm += 1
        perm = 2_000_000_000 + self._perm
        if sec_type == "BAG":
            contract = m.WireContract(28812380, order.legs[0].instrument.underlying, "BAG", legs=tuple(legs))
        else:
            assert instrument is not None
            contract = m.wire_contract(instrument, con_id_of(instrument))
        vo = VenueOrder(
            order_id, s.client_id, perm, contract, action, order_type, lmt, stp, tif, order_ref, order
        )
        self.orders[perm] = vo
        self.by_ref[order_ref] = perm
        self.place_orders += 1
        self.exchange.submit(order)
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
        self.exchange.cancel(self.account_id, vo.order.client_order_id)
        s.send(*m.error(order_id, 202, "Order Canceled - reason:"))
        self.pump()

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

    # -- account -----------------------------------------------------------------------------
    def _values(self) -> list[tuple[str, str]]:
        b = self.exchange.balance(self.account_id)
        return [
            ("NetLiquidation", str(b.equity.amount)),
            ("TotalCashValue", str(b.cash.amount)),
            ("BuyingPower", str(b.buying_power.amount)),
            ("AvailableFunds", str(b.buying_power.amount)),
        ]

    def _req_account_updates(self, s: Session, r: FieldReader) -> None:
        r.skip(1)
        if r.next_int():
            for key, value in self._values():
                s.send(6, 2, key, value, "USD", self.ib_account)
            s.send(8, 1, f"{self.clock.now():%H:%M}")
            s.send(54, 1, self.ib_account)

    def _req_account_multi(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        for key, value in self._values():
            s.send(73, 1, req_id, self.ib_account, "", key, value, "USD")
        s.send(74, 1, req_id)

    def _req_account_summary(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        for key, value in self._values():
            s.send(63, 1, req_id, self.ib_account, key, value, "USD")
        s.send(64, 1, req_id)

    def _req_positions(self, s: Session, r: FieldReader) -> None:
        for p in self.exchange.positions(self.account_id):
            contract = m.wire_contract(p.instrument, con_id_of(p.instrument))
            avg_cost = float(p.avg_price.value) * p.instrument.multiplier
            s.send(*m.position(self.ib_account, contract, float(p.net), avg_cost))
        s.send(62, 1)

    def _req_current_time(self, s: Session, r: FieldReader) -> None:
        s.send(49, 1, int(self.clock.now().timestamp()))

    # -- market data -------------------------------------------------------------------------
    def _req_mkt_data(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        _, instrument, _ = self._read_contract(r)
        if instrument is None:
            s.send(*m.error(req_id, 200, "No security definition has been found for the request"))
            return
        s.send(58, 1, req_id, 1)
        s.ticks[req_id] = instrument
        self._send_ticks()

    def _cancel_mkt_data(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        s.ticks.pop(req_id, None)
        s.sent.pop(req_id, None)

    def _req_contract_details(self, s: Session, r: FieldReader) -> None:
        r.skip(1)
        req_id = r.next_int()
        con_id, symbol, sec_type, expiry = r.next_int(), r.next_str(), r.next_str(), r.next_str()
        strike, right = r.next_float(), r.next_str()
        found: list[Instrument] = []
        if con_id:
            found = [self.listed[con_id]] if con_id in self.listed else []
        elif sec_type == "STK":
            found = [Equity(symbol)]
        elif sec_type == "OPT" and expiry and strike and right:
            found = [o for o in [self._option(symbol, expiry, strike, right)] if o is not None]
        elif sec_type == "OPT":
            self._chain(symbol)
            found = [
                i for i in self.listed.values()
                if isinstance(i, OptionContract) and i.underlying == symbol
                and (not expiry or f"{i.expiry:%Y%m%d}" == expiry)
                and (not strike or float(i.strike) == strike) and (not right or i.right.value == right[:1])
            ]  # fmt: skip
        for instrument in sorted(found, key=lambda i: str(i.id)):
            cid = con_id_of(instrument)
            self.listed.setdefault(cid, instrument)
            under = con_id_of(Equity(instrument.underlying))
            s.send(*m.contract_details(req_id, m.wire_contract(instrument, cid), under))
        if not found:
            s.send(*m.error(req_id, 200, "No security definition has been found for the request"))
        else:
            s.send(52, 1, req_id)

    def _option(self, symbol: str, expiry: str, strike: float, right: str) -> Instrument | None:
        try:
            return instrument_from_fields(symbol, "OPT", expiry, strike, right, "100", "")
        except (RaydeskError, ValueError):
            return None

    def _req_sec_def(self, s: Session, r: FieldReader) -> None:
        req_id, symbol = r.next_int(), r.next_str()
        self._chain(symbol)
        options = [
            i for i in self.listed.values() if isinstance(i, OptionContract) and i.underlying == symbol
        ]
        for root in sorted({o.root for o in options}):
            mine = [o for o in options if o.root == root]
            expiries = sorted({f"{o.expiry:%Y%m%d}" for o in mine})
            strikes = sorted({float(o.strike) for o in mine})
            s.send(*m.sec_def_opt_params(req_id, con_id_of(Equity(symbol)), root, expiries, strikes))
        s.send(76, req_id)

    def _req_historical(self, s: Session, r: FieldReader) -> None:
        req_id = r.next_int()
        _, instrument, _ = self._read_contract(r)
        r.skip(1)  # includeExpired
        end_text, size, span = r.next_str(), r.next_str(), r.next_str()
        end = parse_ib_time(end_text) if end_text else self.clock.now()
        start = end - timedelta(seconds=duration_seconds(span))
        bars = self.bars_of(instrument, start, end, size) if isinstance(instrument, Equity) else []
        s.send(*m.historical_data(req_id, ib_time(start), ib_time(end), bars))

    def bars_of(
        self, instrument: Equity, start: datetime, end: datetime, size: str
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Bars of the market (``SyntheticMarket.bars``) in ``[start, end)``, if it has them."""
        if self.bars is None or size not in BAR_SIZES:
            return []
        try:
            frame = self.bars.bars(instrument.symbol, start, end, BAR_SIZES[size])
        except RaydeskError:
            return []
        return [
            (int(row["ts"].timestamp()), row["open"], row["high"], row["low"], row["close"], row["volume"])
            for row in frame.iter_rows(named=True)
        ]
