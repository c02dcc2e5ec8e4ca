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
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from adapters.brokers.ibkr.parsing import ib_time
from adapters.brokers.sim import SimExchange
from core.clock import Clock
from core.errors import RaydeskError
from core.model import AccountId, Instrument, OptionContract
from simulators.ibkr import messages as m
from simulators.ibkr.base import Session, con_id_of
from simulators.ibkr.market import BarMarket, ChainMarket, MarketDesk
from simulators.ibkr.orders import OrderDesk, VenueOrder
from simulators.ibkr.wire import SERVER_VERSION, FieldReader, fields_of, frame, read_frame, read_handshake

log = logging.getLogger(__name__)
T = TypeVar("T")


class FakeTws(OrderDesk, MarketDesk):
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
        self._chains_at = {}
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
        self.holding_cancels = False
        self.held_cancels = []
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
        """Answer one request; False closes the connection. A request the fake fails on is
        answered with error 321 (as TWS answers one it cannot validate), never a dropped socket."""
        r.skip(1)
        handler = self._handlers().get(msg_id)
        if handler is None:
            log.debug("fake TWS ignores message %s", msg_id)
            return True
        try:
            return handler(s, r) is not False
        except (RaydeskError, ValueError, KeyError, IndexError) as exc:
            log.warning("fake TWS failed on message %s: %r", msg_id, exc)
            s.send(*m.error(-1, 321, f"Error validating request: {exc}"))
            return True

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
