"""A local Alpaca (``AlpacaServer``) on 127.0.0.1 with the simulated exchange behind it.

``start(exchange, clock=..., account_id=...)`` serves one account over Alpaca's REST API, its
``trade_updates`` websocket and its msgpack market-data websocket on a free port; the handle's
``credentials`` point the Alpaca adapter (the real alpaca-py clients) at it. Tests and drivers
change the market through the handle (``run``, ``quote``, ``end_session``, ``push_bars``), so
every touch of the exchange happens on the server's loop, and inject faults (``rate_limit``,
``lose_answers``, ``drop_trade_stream``, ``refuse_streams``, ``silence_data``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import SecretStr

from adapters.brokers.sim import SimExchange
from configs.accounts import AlpacaCredentials, BrokerCredentials
from core.clock import Clock
from core.model import AccountId, ClientOrderId, Quote
from core.model.market import Bar
from simulators.alpaca.server import AlpacaServer
from simulators.ibkr.market import BarMarket

__all__ = ["KEY_ID", "SECRET_KEY", "AlpacaServer", "AlpacaSimulator", "credentials_at", "start"]

T = TypeVar("T")
KEY_ID = "PKSIMULATOR0000000001"
SECRET_KEY = "simulator-secret-not-a-real-key"


def credentials_at(base_url: str) -> AlpacaCredentials:
    """Settings that point the Alpaca adapter at the simulator serving ``base_url`` (http://host:port)."""
    ws = base_url.replace("http://", "ws://", 1)
    return AlpacaCredentials(
        api_key=SecretStr(KEY_ID),
        api_secret=SecretStr(SECRET_KEY),
        trading_url=base_url,
        stream_url=f"{ws}/stream",
        data_url=base_url,
        data_stream_url=f"{ws}/v2/iex",
    )


class AlpacaSimulator:
    """A running Alpaca simulator (a ``SimulatorHandle``)."""

    broker = "alpaca"

    def __init__(self, server: AlpacaServer) -> None:
        self.server = server

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def credentials(self) -> BrokerCredentials:
        return BrokerCredentials(alpaca=credentials_at(self.base_url))

    def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the server's loop (where the exchange lives), then send what it caused."""

        async def then_pump() -> T:
            result = work()
            await self.server.pump()
            return result

        return self.server.call(then_pump())

    def quote(self, quote: Quote) -> None:
        self.run(lambda: self.server.exchange.on_quote(quote))

    def end_session(self, at: datetime) -> None:
        self.run(lambda: self.server.exchange.expire_day_orders(at))

    def push_bars(self, bars: list[Bar]) -> None:
        """Send closed bars to the data stream's subscribers."""
        self.server.call(self.server.push_bars(bars))

    def settle(self, timeout: float = 5.0) -> None:
        self.server.call(self.server.settle(), timeout + 1)

    # -- faults -------------------------------------------------------------------------------
    def rate_limit(self, requests: int) -> None:
        """Answer the next ``requests`` REST requests with HTTP 429."""
        self.server.call(lambda: setattr(self.server, "rate_limited", requests))

    def lose_answers(self, submissions: int) -> None:
        """Carry out the next ``submissions`` orders but answer each HTTP 504 (a lost reply)."""
        self.server.call(lambda: setattr(self.server, "lost_answers", submissions))

    def drop_trade_stream(self) -> None:
        """Close the trade_updates socket (a network blip or an Alpaca restart)."""
        self.server.call(self.server.drop_trade_sockets())

    def refuse_streams(self, refusing: bool = True) -> None:
        """Refuse (HTTP 429) or accept trade_updates connections."""
        self.server.call(lambda: setattr(self.server, "refusing", refusing))

    def silence_data(self) -> None:
        """Keep the open data sockets open but send nothing more on them (a mute feed)."""

        def mute() -> None:
            for client in self.server.data_clients:
                client.silent = True

        self.server.call(mute)

    # -- what reached the simulator ---------------------------------------------------------------
    @property
    def posts(self) -> list[str]:
        """``client_order_id`` of every POST /v2/orders received (refused duplicates included)."""
        return self.server.call(lambda: list(self.server.book.posts))

    @property
    def created(self) -> list[ClientOrderId]:
        """Our client order id of every POST that created an order."""
        return self.server.call(lambda: list(self.server.book.created))

    def requests(self, method: str = "", path: str = "") -> list[tuple[str, str, int]]:
        """REST requests answered (method, path, HTTP status), filtered by method and path prefix."""
        rows = self.server.call(lambda: list(self.server.requests))
        return [r for r in rows if r[0].startswith(method) and r[1].startswith(path)]

    def close(self) -> None:
        self.server.close()


def start(
    exchange: SimExchange,
    *,
    clock: Clock,
    account_id: AccountId,
    market: object | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AlpacaSimulator:
    """Serve ``account_id`` of ``exchange`` as Alpaca on ``host:port`` (0: a free port).

    ``market`` supplies historical bars (``bars(symbol, start, end, timeframe)``, e.g. a
    ``SyntheticMarket``) for the market-data REST API.
    """
    server = AlpacaServer(
        exchange,
        clock,
        account_id,
        market if isinstance(market, BarMarket) else None,
        KEY_ID,
        SECRET_KEY,
    )
    server.start(host, port)
    return AlpacaSimulator(server)
