"""``AlpacaServer``: Alpaca's REST API and both websockets on 127.0.0.1, a ``SimExchange`` behind.

* REST JSON under ``/v2`` (trading: account, orders, order by client id, replace, cancel,
  positions, FILL activities; market data: bars with ``next_page_token`` pages, latest quotes),
  with Alpaca's auth headers checked and its error bodies (``code``, ``message``).
* ``/stream``: ``trade_updates`` as JSON in binary frames (authenticate, listen, updates); one
  connection per account, a second one is refused with HTTP 429.
* ``/v2/iex`` and ``/v2/sip``: market data as msgpack arrays, ``t`` a msgpack Timestamp
  extension (connected, auth, subscribe, quotes, bars); one connection (406 for a second).

Its own asyncio loop runs in a thread; every touch of the exchange happens on that loop
(``call``). Faults: HTTP 429 bursts, a dropped trade socket, refused stream connections, a
silent data socket. ``settle`` pings every socket and waits for the pong, so every frame sent
before it has been read by the client.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgpack
import polars as pl
from aiohttp import WSMsgType, web

from adapters.brokers.alpaca.loop import LoopThread
from adapters.brokers.alpaca.parsing import parse_time
from adapters.brokers.sim import SimExchange
from core.clock import Clock
from core.model import AccountId, InstrumentId, Quote
from core.model.market import Bar
from simulators.alpaca.book import AlpacaBook, Refusal
from simulators.alpaca.payloads import (
    Json,
    bar_rest,
    bar_stream,
    error_json,
    pack,
    quote_rest,
    quote_stream,
    trade_update,
)
from simulators.ibkr.market import BarMarket

T = TypeVar("T")
TIMEFRAMES = {"1Min": "1m", "5Min": "5m", "15Min": "15m", "30Min": "30m", "1Hour": "1h", "1Day": "1d"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(eq=False)
class DataClient:
    ws: web.WebSocketResponse
    quotes: set[str] = field(default_factory=set)
    bars: set[str] = field(default_factory=set)
    sent: dict[str, Quote] = field(default_factory=dict)
    silent: bool = False


class AlpacaServer:
    """Serves one account of ``exchange`` (see the module docstring)."""

    def __init__(
        self,
        exchange: SimExchange,
        clock: Clock,
        account_id: AccountId,
        market: BarMarket | None,
        key: str,
        secret: str,
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.book = AlpacaBook(exchange, account_id)
        self.market = market
        self.key, self.secret = key, secret
        self.host, self.port = "127.0.0.1", 0
        self.trade_sockets: list[web.WebSocketResponse] = []
        self.data_clients: list[DataClient] = []
        self.requests: list[tuple[str, str, int]] = []
        """(method, path, status) of every REST request answered."""
        self.rate_limited = 0
        """How many of the next REST requests are answered HTTP 429."""
        self.lost_answers = 0
        """How many of the next order submissions are carried out but answered HTTP 504."""
        self.refusing = False
        self.trade_connects = 0
        self.trade_refused = 0
        self.data_connects = 0
        self.bars_page = 1000
        self._pongs: dict[bytes, asyncio.Future[None]] = {}
        self._ping_seq = 0
        self._runner: web.AppRunner | None = None
        self._thread = LoopThread("alpaca-sim")
        self._loop = self._thread.loop

    # -- life cycle (any thread) ------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._thread.start()
        self.call(self._listen(port))

    def call(self, work: Coroutine[Any, Any, T] | Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``work`` (a coroutine or a plain function) on the server's loop; its result."""
        return self._thread.call(work, timeout)

    def close(self) -> None:
        self._thread.stop(self._shutdown())

    async def _listen(self, port: int) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/stream", self._trade_socket)
        app.router.add_get("/v2/iex", self._data_socket)
        app.router.add_get("/v2/sip", self._data_socket)
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/orders:by_client_order_id", self._order_by_client_id)
        app.router.add_get("/v2/orders", self._orders)
        app.router.add_post("/v2/orders", self._submit)
        app.router.add_get("/v2/orders/{order_id}", self._order)
        app.router.add_delete("/v2/orders/{order_id}", self._cancel)
        app.router.add_patch("/v2/orders/{order_id}", self._replace)
        app.router.add_get("/v2/positions", self._positions)
        app.router.add_get("/v2/account/activities/{kind}", self._activities)
        app.router.add_get("/v2/stocks/bars", self._bars)
        app.router.add_get("/v2/stocks/quotes/latest", self._latest_quotes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        for ws in [*self.trade_sockets, *(c.ws for c in self.data_clients)]:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- on the loop: market and events -----------------------------------------------------------
    async def pump(self) -> None:
        """Send the exchange's new events as trade updates and changed quotes to subscribers."""
        for message in self.book.updates():
            frame = json.dumps(message).encode()
            for ws in list(self.trade_sockets):
                if not ws.closed:
                    await ws.send_bytes(frame)
        for client in list(self.data_clients):
            if client.silent or client.ws.closed:
                continue
            fresh = []
            for symbol in sorted(client.quotes):
                quote = self.exchange.last_quote(InstrumentId(symbol))
                if quote is not None and client.sent.get(symbol) != quote:
                    client.sent[symbol] = quote
                    fresh.append(quote_stream(symbol, quote))
            if fresh:
                await client.ws.send_bytes(pack(fresh))

    async def push_bars(self, bars: list[Bar]) -> None:
        for client in list(self.data_clients):
            wanted = [bar_stream(b) for b in bars if b.symbol in client.bars or "*" in client.bars]
            if wanted and not client.silent and not client.ws.closed:
                await client.ws.send_bytes(pack(wanted))

    async def settle(self) -> None:
        """Pump, then ping every socket and wait for each pong (the client read what came first)."""
        await self.pump()
        waits = []
        for ws in [*self.trade_sockets, *(c.ws for c in self.data_clients if not c.silent)]:
            if ws.closed:
                continue
            self._ping_seq += 1
            token = f"settle-{self._ping_seq}".encode()
            future: asyncio.Future[None] = self._loop.create_future()
            self._pongs[token] = future
            await ws.ping(token)
            waits.append(future)
        if waits:
            await asyncio.wait(waits, timeout=5)

    async def drop_trade_sockets(self) -> None:
        for ws in list(self.trade_sockets):
            await ws.close()
        self.trade_sockets.clear()

    # -- on the loop: REST ------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        if (
            request.headers.get("APCA-API-KEY-ID") != self.key
            or request.headers.get("APCA-API-SECRET-KEY") != self.secret
        ):
            return self._answer(request, 401, error_json(40110000, "request is not authorized"))
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return self._answer(request, 429, error_json(42910000, "rate limit exceeded"))
        try:
            response = await handler(request)
        except Refusal as refusal:
            return self._answer(request, refusal.status, refusal.body)
        await self.pump()
        if self.lost_answers > 0 and request.method == "POST" and request.path == "/v2/orders":
            self.lost_answers -= 1
            return self._answer(request, 504, error_json(50400000, "gateway timeout"))
        self.requests.append((request.method, request.path, response.status))
        return response

    def _answer(self, request: web.Request, status: int, body: Json) -> web.Response:
        self.requests.append((request.method, request.path, status))
        return web.json_response(body, status=status)

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(self.book.account())

    async def _orders(self, request: web.Request) -> web.Response:
        q = request.query
        after = parse_time(q["after"]) if q.get("after") else None
        until = parse_time(q["until"]) if q.get("until") else None
        limit = min(int(q.get("limit") or 50), 500)
        asc = q.get("direction", "desc") == "asc"
        return web.json_response(self.book.orders(q.get("status", "open"), after, until, limit, asc))

    async def _submit(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(self.book.submit(body))

    async def _order_by_client_id(self, request: web.Request) -> web.Response:
        return web.json_response(self.book.by_client_id(request.query.get("client_order_id", "")))

    async def _order(self, request: web.Request) -> web.Response:
        return web.json_response(self.book.by_alpaca_id(request.match_info["order_id"]))

    async def _cancel(self, request: web.Request) -> web.Response:
        self.book.cancel(request.match_info["order_id"])
        return web.Response(status=204)

    async def _replace(self, request: web.Request) -> web.Response:
        await self.pump()  # what happened before the replacement goes out first
        old, new = self.book.replace(request.match_info["order_id"], await request.json())
        frame = json.dumps(trade_update("replaced", old, self.clock.now())).encode()
        for ws in list(self.trade_sockets):
            await ws.send_bytes(frame)
        return web.json_response(new)

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response(self.book.positions())

    async def _activities(self, request: web.Request) -> web.Response:
        if request.match_info["kind"] != "FILL":
            return web.json_response([])
        q = request.query
        rows = self.book.activities(
            q.get("after"),
            q.get("until"),
            q.get("direction", "desc") == "asc",
            min(int(q.get("page_size") or 100), 100),
            q.get("page_token"),
        )
        return web.json_response(rows)

    async def _bars(self, request: web.Request) -> web.Response:
        q = request.query
        timeframe = TIMEFRAMES.get(q.get("timeframe", ""))
        if timeframe is None:
            raise Refusal(422, 42210000, f"timeframe {q.get('timeframe')!r} is not simulated")
        if self.market is None:
            return web.json_response({"bars": {}, "next_page_token": None})
        start, end = parse_time(q["start"]), parse_time(q["end"]) if q.get("end") else self.clock.now()
        rows: list[tuple[str, dict[str, Any]]] = []
        for symbol in q.get("symbols", "").split(","):
            frame = self.market.bars(symbol, start, end, timeframe)
            if frame.height:
                frame = frame.filter((pl.col("ts") >= start) & (pl.col("ts") <= end)).sort("ts")
                rows += [(symbol, row) for row in frame.iter_rows(named=True)]
        offset = int(base64.b64decode(q["page_token"])) if q.get("page_token") else 0
        size = min(int(q.get("limit") or 1000), self.bars_page)
        page = rows[offset : offset + size]
        bars: dict[str, list[Json]] = {}
        for symbol, row in page:
            bars.setdefault(symbol, []).append(bar_rest(row))
        more = offset + size < len(rows)
        token = base64.b64encode(str(offset + size).encode()).decode() if more else None
        return web.json_response({"bars": bars, "next_page_token": token})

    async def _latest_quotes(self, request: web.Request) -> web.Response:
        quotes: dict[str, Json] = {}
        for symbol in request.query.get("symbols", "").split(","):
            quote = self.exchange.last_quote(InstrumentId(symbol)) if symbol else None
            if quote is not None:
                quotes[symbol] = quote_rest(quote)
        return web.json_response({"quotes": quotes})

    # -- on the loop: websockets ------------------------------------------------------------------
    def _control(self, ws: web.WebSocketResponse, kind: WSMsgType, data: bytes) -> bool:
        """Answer pings, note pongs; True if the frame was a control frame."""
        if kind == WSMsgType.PING:
            self._loop.create_task(ws.pong(data))
            return True
        if kind == WSMsgType.PONG:
            future = self._pongs.pop(bytes(data), None)
            if future is not None and not future.done():
                future.set_result(None)
            return True
        return False

    async def _frames(self, ws: web.WebSocketResponse) -> AsyncIterator[Any]:
        """The data frames a client sends (pings answered, pongs noted) until it closes."""
        async for msg in ws:
            if self._control(ws, msg.type, _payload(msg.data)):
                continue
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return
            yield msg.data

    async def _trade_socket(self, request: web.Request) -> web.StreamResponse:
        if self.refusing or any(not ws.closed for ws in self.trade_sockets):
            self.trade_refused += 1
            return web.Response(status=429, text="connection limit exceeded")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.trade_connects += 1
        try:
            async for data in self._frames(ws):
                body = json.loads(data)
                data = body.get("data") or {}
                if body.get("action") == "authenticate":
                    ok = data.get("key_id") == self.key and data.get("secret_key") == self.secret
                    status = "authorized" if ok else "unauthorized"
                    answer = {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
                    await ws.send_bytes(json.dumps(answer).encode())
                    if not ok:
                        break
                elif body.get("action") == "listen":
                    streams = list(data.get("streams") or [])
                    await ws.send_bytes(
                        json.dumps({"stream": "listening", "data": {"streams": streams}}).encode()
                    )
                    if "trade_updates" in streams and ws not in self.trade_sockets:
                        self.trade_sockets.append(ws)
        finally:
            if ws in self.trade_sockets:
                self.trade_sockets.remove(ws)
            await ws.close()
        return ws

    async def _data_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.data_connects += 1
        if any(not c.ws.closed for c in self.data_clients):
            await ws.send_bytes(pack([{"T": "error", "code": 406, "msg": "connection limit exceeded"}]))
            await ws.close()
            return ws
        client = DataClient(ws)
        await ws.send_bytes(pack([{"T": "success", "msg": "connected"}]))
        try:
            async for data in self._frames(ws):
                await self._data_message(client, msgpack.unpackb(data))
        finally:
            if client in self.data_clients:
                self.data_clients.remove(client)
            await ws.close()
        return ws

    async def _data_message(self, client: DataClient, body: dict[str, Any]) -> None:
        action = body.get("action")
        if action == "auth":
            if body.get("key") != self.key or body.get("secret") != self.secret:
                await client.ws.send_bytes(pack([{"T": "error", "code": 402, "msg": "auth failed"}]))
                await client.ws.close()
                return
            self.data_clients.append(client)
            await client.ws.send_bytes(pack([{"T": "success", "msg": "authenticated"}]))
        elif action in ("subscribe", "unsubscribe"):
            for channel, wanted in (("quotes", client.quotes), ("bars", client.bars)):
                names = set(body.get(channel) or [])
                if action == "subscribe":
                    wanted |= names
                else:
                    wanted -= names
            answer = {
                "T": "subscription",
                "trades": [],
                "quotes": sorted(client.quotes),
                "bars": sorted(client.bars),
            }
            await client.ws.send_bytes(pack([answer]))


def _payload(data: object) -> bytes:
    return bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b""
