"""``FakeTastytrade``: the REST API, DXLink and the account streamer on 127.0.0.1, one loop.

Everything (HTTP handlers, websocket handlers, the exchange, the market) runs on one asyncio
loop in a daemon thread; drivers and tests reach it through ``call``. Each websocket has one
sender task fed by a queue, so frames never interleave and ``flush`` can wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, runtime_checkable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.brokers.sim import SimExchange
from core.clock import Clock
from core.errors import OrderRejected, RaydeskError
from core.messages import OrderFilled, OrderUpdated
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Instrument,
    InstrumentId,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    TimeInForce,
)
from core.model.market import OptionQuote
from simulators.tastytrade import payloads as p

T = TypeVar("T")
ORDER_TYPES = {v: k for k, v in p.ORDER_TYPE.items()}
TIFS = {v: k for k, v in p.TIF.items()}
FEED_CHUNK = 40
"""Events per FEED_DATA frame: far below the SDK's 64 KiB frame limit."""


@runtime_checkable
class ChainMarket(Protocol):
    """Option chains with model greeks (``SyntheticOptionChains`` fits)."""

    def option_chain(self, underlying: str, ts: datetime, /) -> list[OptionQuote]: ...


@dataclass
class Conn:
    """One websocket client and its ordered outgoing frames."""

    ws: WebSocket
    kind: str
    out: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    fields: dict[int, list[str]] = field(default_factory=dict)
    subs: dict[int, set[str]] = field(default_factory=dict)
    sent: dict[tuple[int, str], tuple[Any, ...]] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)

    async def sender(self) -> None:
        while True:
            msg = await self.out.get()
            try:
                if msg is None:
                    await self.ws.close()
                    return
                await self.ws.send_text(json.dumps(msg))
            except Exception:
                return
            finally:
                self.out.task_done()


@dataclass
class Placed:
    """An order the fake API placed: its exchange id and the client's external identifier."""

    sim_id: ClientOrderId
    external_identifier: str | None


class FakeTastytrade:
    """The fake API's state and handlers (see the module docstring)."""

    def __init__(
        self,
        exchange: SimExchange,
        clock: Clock,
        account_id: AccountId,
        account_number: str,
        refresh_token: str,
        chains: ChainMarket | None = None,
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.account_id = account_id
        self.account_number = account_number
        self.refresh_token = refresh_token
        self.chains = chains
        self.tokens: set[str] = set()
        self.token_seq = 0
        self.orders: dict[int, Placed] = {}
        self.by_sim: dict[ClientOrderId, int] = {}
        self.conns: list[Conn] = []
        self.frozen = False
        self.overrides: dict[InstrumentId, Quote] = {}
        self.iv_rank: dict[str, Decimal] = {}
        self.place_orders = 0
        self.refs: list[str] = []
        """The external identifier of every order placed (POST /orders), in order."""
        self.subscription_sizes: list[int] = []
        """Symbols added by each FEED_SUBSCRIPTION message received (how the client chunks)."""
        self._chain_cache: dict[str, tuple[datetime, dict[InstrumentId, OptionQuote]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.host = "127.0.0.1"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-tastytrade", daemon=True)
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Future[None] = self._loop.create_future()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.host, self.port = sock.getsockname()[:2]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", ws="websockets-sansio")
        self._server = uvicorn.Server(config)
        self._thread.start()
        self.call(self._serve_in_background(sock))

    async def _serve_in_background(self, sock: socket.socket) -> None:
        assert self._server is not None
        self._serving = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        await self._started()

    async def _started(self) -> None:
        assert self._server is not None
        while not self._server.started:
            await asyncio.sleep(0.005)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.call(self._shutdown(), 5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _shutdown(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await asyncio.sleep(0.15)  # the serve loop notices within 0.1 s and closes the socket
            self._serving.cancel()  # no graceful wait for websockets the clients already closed
            await asyncio.gather(self._serving, return_exceptions=True)

    def call(self, work: Callable[[], T] | Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``work`` (a function or a coroutine) on the server's loop and return its result."""
        if asyncio.iscoroutine(work):
            return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

        async def run() -> T:
            assert callable(work)
            return work()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    # -- faults -------------------------------------------------------------------------------
    async def drop(self) -> None:
        """Close every websocket (both streamers) at once."""
        for conn in list(self.conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1011)
        self.conns.clear()

    def expire_tokens(self) -> None:
        """Every access token and the refresh token stop working (a revoked grant)."""
        self.tokens.clear()
        self.refresh_token = ""

    async def flush(self) -> None:
        """Publish what the exchange produced, then wait until every queued frame is sent."""
        self.pump()
        for conn in list(self.conns):
            await conn.out.join()

    # -- the app ------------------------------------------------------------------------------
    def app(self) -> Starlette:
        acct = "/accounts/{number}"
        return Starlette(
            routes=[
                Route("/oauth/token", self.oauth, methods=["POST"]),
                Route("/customers/me/accounts", self.accounts),
                Route("/customers/me/accounts/{number}", self.one_account),
                Route(acct + "/balances/{currency}", self.balances),
                Route(acct + "/positions", self.positions),
                Route(acct + "/orders", self.order_history),
                Route(acct + "/orders", self.place, methods=["POST"]),
                Route(acct + "/orders/dry-run", self.dry_run, methods=["POST"]),
                Route(acct + "/orders/live", self.live_orders),
                Route(acct + "/orders/{id:int}", self.get_order),
                Route(acct + "/orders/{id:int}", self.replace, methods=["PUT"]),
                Route(acct + "/orders/{id:int}", self.cancel, methods=["DELETE"]),
                Route("/api-quote-tokens", self.quote_token),
                Route("/option-chains/{symbol}/nested", self.nested_chain),
                Route("/market-metrics", self.market_metrics),
                WebSocketRoute("/dxlink", self.dxlink),
                WebSocketRoute("/alerts", self.alerts),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") in self.tokens

    @staticmethod
    def _data(data: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse({"data": data, "context": "/fake"}, status_code=status)

    def _guard(self, request: Request) -> JSONResponse | None:
        if not self._authorized(request):
            return JSONResponse(p.error("token_invalid", "This token is invalid or has expired"), 401)
        number = request.path_params.get("number")
        if number is not None and number != self.account_number:
            return JSONResponse(p.error("record_not_found", f"no account {number}"), 404)
        return None

    async def oauth(self, request: Request) -> JSONResponse:
        body = await request.json()
        if not self.refresh_token or body.get("refresh_token") != self.refresh_token:
            return JSONResponse(p.error("invalid_grant", "Grant revoked or expired"), 401)
        self.token_seq += 1
        token = f"fake-access-{self.token_seq}"
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 900, "token_type": "Bearer"})

    async def accounts(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        return self._data({"items": [{"account": p.account(self.account_number, self.clock.now())}]})

    async def one_account(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        return self._data(p.account(self.account_number, self.clock.now()))

    async def balances(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        return self._data(p.balance(self.account_number, self.exchange.balance(self.account_id)))

    async def positions(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        now = self.clock.now()
        items = [
            p.position(self.account_number, pos, now)
            for pos in self.exchange.positions(self.account_id)
            if not pos.is_flat
        ]
        return self._data({"items": items})

    # -- orders -------------------------------------------------------------------------------
    def order_json(self, broker_id: int) -> dict[str, Any]:
        placed = self.orders[broker_id]
        order = self.exchange.get_order(self.account_id, placed.sim_id)
        assert order is not None
        fills = [
            f
            for f in self.exchange.fills_since(self.account_id, order.created_at)
            if f.client_order_id == placed.sim_id
        ]
        return p.order(self.account_number, broker_id, order, fills, placed.external_identifier)

    def _parse(self, body: dict[str, Any], sim_id: ClientOrderId) -> Order:
        legs: list[tuple[Instrument, OrderSide, Decimal]] = []
        for leg in body.get("legs") or []:
            symbol = str(leg["symbol"])
            kind = leg.get("instrument-type")
            instrument: Instrument = (
                OptionContract.from_occ(symbol) if kind == "Equity Option" else Equity(symbol)
            )
            side = OrderSide.BUY if str(leg["action"]).startswith("Buy") else OrderSide.SELL
            legs.append((instrument, side, Decimal(str(leg["quantity"]))))
        if not legs:
            raise OrderRejected("an order needs legs")
        size = Decimal(math.gcd(*(int(q) for _, _, q in legs)))
        order_type = ORDER_TYPES[body["order-type"]]
        price = Price(body["price"]) if "price" in body else None
        stop = Price(body["stop-trigger"]) if "stop-trigger" in body else None
        effect = None
        if len(legs) > 1 and price is not None:
            effect = PriceEffect.CREDIT if body.get("price-effect") == "Credit" else PriceEffect.DEBIT
        return Order(
            client_order_id=sim_id,
            account_id=self.account_id,
            legs=tuple(OrderLeg(i, s, int(q / size)) for i, s, q in legs),
            quantity=Quantity(size),
            order_type=order_type,
            created_at=self.clock.now(),
            time_in_force=TIFS.get(body.get("time-in-force", "Day"), TimeInForce.DAY),
            limit_price=price,
            stop_price=stop,
            price_effect=effect,
        )

    async def place(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        body = json.loads(await request.body())
        broker_id = 100_000 + len(self.orders) + 1
        sim_id = ClientOrderId(f"tt-{broker_id}")
        try:
            order = self._parse(body, sim_id)
        except (RaydeskError, KeyError, ValueError, InvalidOperation) as exc:
            return JSONResponse(p.error("validation_error", f"invalid order: {exc}"), 400)
        self.place_orders += 1
        self.refs.append(str(body.get("external-identifier") or ""))
        result = self.exchange.submit(order)
        if result.status is OrderStatus.REJECTED:
            self.exchange.poll_events(self.account_id)  # the venue never took it: no order events
            return JSONResponse(p.error("preflight_check_failure", result.reason), 422)
        self.orders[broker_id] = Placed(sim_id, body.get("external-identifier"))
        self.by_sim[sim_id] = broker_id
        current = self.exchange.balance(self.account_id).buying_power.amount
        data = {
            "order": self.order_json(broker_id),
            "buying-power-effect": p.buying_power_effect(current, Decimal(0), order.is_multi_leg),
            "warnings": [],
        }
        self.pump()
        return self._data(data, 201)

    async def dry_run(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        body = json.loads(await request.body())
        try:
            order = self._parse(body, ClientOrderId("dry-run"))
        except (RaydeskError, KeyError, ValueError, InvalidOperation) as exc:
            return JSONResponse(p.error("validation_error", f"invalid order: {exc}"), 400)
        state = self.exchange._account(self.account_id)
        need, reason = self.exchange._requirement(state, order, self.exchange._held(state))
        current = self.exchange.balance(self.account_id).buying_power.amount
        unplaced = p.order(self.account_number, 0, order, [], body.get("external-identifier"))
        del unplaced["id"]
        data: dict[str, Any] = {
            "order": unplaced,
            "buying-power-effect": p.buying_power_effect(current, need, order.is_multi_leg),
            "warnings": [],
        }
        if reason:
            data["errors"] = [{"code": "insufficient_buying_power", "message": reason}]
        return self._data(data, 201)

    def _known(self, request: Request) -> int | JSONResponse:
        broker_id = int(request.path_params["id"])
        if broker_id not in self.orders:
            return JSONResponse(p.error("record_not_found", f"no order {broker_id}"), 404)
        return broker_id

    async def get_order(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        known = self._known(request)
        return known if isinstance(known, JSONResponse) else self._data(self.order_json(known))

    async def replace(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        known = self._known(request)
        if isinstance(known, JSONResponse):
            return known
        body = json.loads(await request.body())
        try:
            self.exchange.replace(
                self.account_id,
                self.orders[known].sim_id,
                limit_price=Price(body["price"]) if "price" in body else None,
                stop_price=Price(body["stop-trigger"]) if "stop-trigger" in body else None,
            )
        except (RaydeskError, InvalidOperation) as exc:
            return JSONResponse(p.error("order_not_editable", str(exc)), 422)
        self.pump()
        return self._data(self.order_json(known))

    async def cancel(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        known = self._known(request)
        if isinstance(known, JSONResponse):
            return known
        try:
            self.exchange.cancel(self.account_id, self.orders[known].sim_id)
        except RaydeskError as exc:
            return JSONResponse(p.error("order_not_cancellable", str(exc)), 422)
        self.pump()
        return self._data(self.order_json(known))

    async def live_orders(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        today = self.clock.now().date()
        items = []
        for broker_id, placed in self.orders.items():
            order = self.exchange.get_order(self.account_id, placed.sim_id)
            if order is not None and (order.status.is_open or order.created_at.date() == today):
                items.append(self.order_json(broker_id))
        return self._data({"items": items})

    async def order_history(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        items = [self.order_json(broker_id) for broker_id in sorted(self.orders, reverse=True)]
        return JSONResponse(
            {
                "data": {"items": items},
                "pagination": {"page-offset": 0, "total-pages": 1, "per-page": len(items) or 1},
            }
        )

    # -- market data over REST ----------------------------------------------------------------
    async def quote_token(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        url = f"ws://{self.host}:{self.port}/dxlink"
        return self._data({"token": "fake-quote-token", "dxlink-url": url, "level": "api"})

    def chain(self, underlying: str) -> dict[InstrumentId, OptionQuote]:
        if self.chains is None:
            return {}
        now = self.clock.now()
        cached = self._chain_cache.get(underlying)
        if cached is None or cached[0] != now:
            try:
                quotes = self.chains.option_chain(underlying, now)
            except RaydeskError:
                quotes = []
            cached = (now, {q.contract.id: q for q in quotes})
            self._chain_cache[underlying] = cached
        return cached[1]

    async def nested_chain(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        symbol = request.path_params["symbol"]
        chain = self.chain(symbol)
        if not chain:
            return JSONResponse(p.error("record_not_found", f"no option chain for {symbol}"), 404)
        return self._data(p.nested_chain(symbol, chain.values(), self.clock.now().date()))

    async def market_metrics(self, request: Request) -> JSONResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        symbols = [s for s in request.query_params.get("symbols", "").split(",") if s]
        now = self.clock.now()
        items = [p.market_metric(s, self.iv_rank[s], now) for s in symbols if s in self.iv_rank]
        return self._data({"items": items})

    # -- the account streamer -----------------------------------------------------------------
    async def _serve(self, ws: WebSocket, kind: str, handle: Callable[[Conn, dict[str, Any]], None]) -> None:
        await ws.accept()
        conn = Conn(ws, kind)
        self.conns.append(conn)
        task = asyncio.ensure_future(conn.sender())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            while True:
                handle(conn, json.loads(await ws.receive_text()))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if conn in self.conns:
                self.conns.remove(conn)
            task.cancel()

    async def alerts(self, ws: WebSocket) -> None:
        await self._serve(ws, "alerts", self._on_alert)

    def _on_alert(self, conn: Conn, msg: dict[str, Any]) -> None:
        request_id = msg.get("request-id")
        token = str(msg.get("auth-token", "")).removeprefix("Bearer ")
        if token not in self.tokens:
            conn.out.put_nowait({"status": "error", "message": "invalid-token", "request-id": request_id})
            return
        if msg.get("action") == "connect":
            conn.accounts.update(msg.get("value") or [])
        conn.out.put_nowait(
            {
                "status": "ok",
                "action": msg.get("action"),
                "web-socket-session-id": "fake",
                "request-id": request_id,
            }
        )

    def pump(self) -> None:
        """Turn the exchange's new events into account-streamer pushes, and send changed quotes."""
        changed: list[int] = []
        filled = False
        for event in self.exchange.poll_events(self.account_id):
            sim_id = (
                event.order.client_order_id if isinstance(event, OrderUpdated) else event.fill.client_order_id
            )
            broker_id = self.by_sim.get(sim_id)
            if broker_id is None:
                continue
            if broker_id not in changed:
                changed.append(broker_id)
            filled = filled or isinstance(event, OrderFilled)
        pushes: list[dict[str, Any]] = []
        now = self.clock.now()
        for broker_id in changed:
            pushes.append({"type": "Order", "data": self.order_json(broker_id), "timestamp": p.iso(now)})
        if filled:
            balance = p.balance(self.account_number, self.exchange.balance(self.account_id))
            pushes.append({"type": "AccountBalance", "data": balance, "timestamp": p.iso(now)})
            for pos in self.exchange.positions(self.account_id):
                body = p.position(self.account_number, pos, now)
                pushes.append({"type": "CurrentPosition", "data": body, "timestamp": p.iso(now)})
        for conn in self.conns:
            if conn.kind == "alerts" and self.account_number in conn.accounts:
                for push in pushes:
                    conn.out.put_nowait(push)
        self.push_feed()

    # -- DXLink -------------------------------------------------------------------------------
    async def dxlink(self, ws: WebSocket) -> None:
        await self._serve(ws, "dxlink", self._on_dxlink)

    def _on_dxlink(self, conn: Conn, msg: dict[str, Any]) -> None:
        kind, channel = msg.get("type"), int(msg.get("channel", 0))
        send = conn.out.put_nowait
        if kind == "SETUP":
            send(
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                    "version": "fake",
                }
            )
            send({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        elif kind == "AUTH":
            if msg.get("token") != "fake-quote-token":
                send({"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": "bad token"})
            else:
                send({"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "fake"})
        elif kind == "CHANNEL_REQUEST":
            conn.subs.setdefault(channel, set())
            send(
                {
                    "type": "CHANNEL_OPENED",
                    "channel": channel,
                    "service": "FEED",
                    "parameters": msg.get("parameters", {}),
                }
            )
        elif kind == "FEED_SETUP":
            accepted: dict[str, list[str]] = msg.get("acceptEventFields", {})
            for names in accepted.values():
                conn.fields[channel] = list(names)
            send(
                {"type": "FEED_CONFIG", "channel": channel, "dataFormat": "COMPACT", "eventFields": accepted}
            )
        elif kind == "FEED_SUBSCRIPTION":
            subs = conn.subs.setdefault(channel, set())
            for item in msg.get("remove", []):
                subs.discard(item["symbol"])
                conn.sent.pop((channel, item["symbol"]), None)
            subs.update(item["symbol"] for item in msg.get("add", []))
            self.subscription_sizes.append(len(msg.get("add", [])))
            self.push_feed()
        elif kind == "CHANNEL_CANCEL":
            conn.subs.pop(channel, None)
            send({"type": "CHANNEL_CLOSED", "channel": channel})
        elif kind == "KEEPALIVE":
            send({"type": "KEEPALIVE", "channel": 0})

    def push_feed(self) -> None:
        """Send every subscribed event whose values changed since it was last sent (none while frozen)."""
        if self.frozen:
            return
        for conn in self.conns:
            if conn.kind != "dxlink":
                continue
            for channel, symbols in conn.subs.items():
                names = conn.fields.get(channel)
                if not names:
                    continue
                event_type = "Greeks" if "volatility" in names else "Quote"
                rows: list[Any] = []
                for symbol in sorted(symbols):
                    values = self._event(event_type, symbol)
                    if values is None:
                        continue
                    row = tuple(values.get(n, "NaN") for n in names)
                    if conn.sent.get((channel, symbol)) == row:
                        continue
                    conn.sent[(channel, symbol)] = row
                    rows.append(row)
                for start in range(0, len(rows), FEED_CHUNK):
                    flat = [v for row in rows[start : start + FEED_CHUNK] for v in row]
                    conn.out.put_nowait({"type": "FEED_DATA", "channel": channel, "data": [event_type, flat]})

    def _quote_of(self, instrument: Instrument) -> tuple[Quote | None, OptionQuote | None]:
        override = self.overrides.get(instrument.id)
        venue = self.exchange.last_quote(instrument.id)
        model = None
        if isinstance(instrument, OptionContract):
            model = self.chain(instrument.underlying).get(instrument.id)
        quote = venue or (model.quote if model else None)  # the venue's market first, the model's else
        if override is not None and (venue is None or override.ts >= venue.ts):
            quote = override
        return quote, model

    def _event(self, event_type: str, symbol: str) -> dict[str, Any] | None:
        instrument: Instrument
        instrument = OptionContract.from_streamer_symbol(symbol) if symbol.startswith(".") else Equity(symbol)
        quote, model = self._quote_of(instrument)
        if isinstance(instrument, Equity) and quote is None:
            spot = self._spot(symbol)
            if spot is None:
                return None
            quote = Quote(
                instrument.id, Price(spot - Decimal("0.01")), Price(spot + Decimal("0.01")), self.clock.now()
            )
        ms = int(quote.ts.timestamp() * 1000) if quote else 0
        if event_type == "Greeks":
            if model is None:
                return None
            return {
                "eventSymbol": symbol, "eventTime": ms, "eventFlags": 0, "index": 0, "time": ms, "sequence": 0,
                "price": model.theo if model.theo is not None else "NaN", "volatility": model.iv,
                "delta": model.delta, "gamma": model.gamma, "theta": model.theta, "rho": 0, "vega": model.vega,
            }  # fmt: skip
        if quote is None:
            return None
        return {
            "eventSymbol": symbol, "eventTime": ms, "sequence": 0, "timeNanoPart": 0,
            "bidTime": ms, "bidExchangeCode": "Q", "askTime": ms, "askExchangeCode": "Q",
            "bidPrice": float(quote.bid.value), "askPrice": float(quote.ask.value),
            "bidSize": quote.bid_size or 100, "askSize": quote.ask_size or 100,
        }  # fmt: skip

    def _spot(self, underlying: str) -> Decimal | None:
        for q in self.chain(underlying).values():
            return Decimal(str(round(q.underlying_price, 2)))
        return None
