"""A fake Tastytrade (``FakeTastytrade``) on 127.0.0.1 with the simulated exchange behind it.

``start(exchange, clock=..., account_id=...)`` serves one account over the REST API, DXLink
(SETUP / AUTH / CHANNEL_REQUEST / FEED_SETUP / FEED_SUBSCRIPTION / COMPACT FEED_DATA /
KEEPALIVE) and the account streamer, as the ``tastytrade`` SDK speaks them, on a free port;
the handle's ``credentials`` point the Tastytrade adapter at it. Tests and drivers change the
market through the handle (``quote``, ``feed_quote``, ``end_session``, ``run``) and inject the
seed's failures: ``freeze`` (a silent feed), ``drop`` (both sockets closed), ``expire_tokens``.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import SecretStr

from adapters.brokers.sim import SimExchange
from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.quotes_bridge import SyntheticOptionChains
from configs.accounts import BrokerCredentials, TastytradeCredentials
from core.clock import Clock
from core.model import AccountId, Quote
from simulators.handle import ExchangeHandle
from simulators.tastytrade.server import ChainMarket, FakeTastytrade

__all__ = ["FakeTastytrade", "TastytradeSimulator", "start"]

PROVIDER_SECRET = "fake-provider-secret"
REFRESH_TOKEN = "fake-refresh-token"


class TastytradeSimulator(ExchangeHandle):
    """A running fake Tastytrade (a ``SimulatorHandle``)."""

    broker = "tastytrade"

    def __init__(self, fake: FakeTastytrade) -> None:
        super().__init__(fake)
        self.fake = fake

    @property
    def url(self) -> str:
        return f"http://{self.fake.host}:{self.fake.port}"

    @property
    def account_number(self) -> str:
        return self.fake.account_number

    @property
    def credentials(self) -> BrokerCredentials:
        creds = TastytradeCredentials(
            provider_secret=SecretStr(PROVIDER_SECRET),
            refresh_token=SecretStr(REFRESH_TOKEN),
            account=self.fake.account_number,
            api_url=self.url,
            streamer_url=f"ws://{self.fake.host}:{self.fake.port}/alerts",
        )
        return BrokerCredentials(tastytrade=creds)

    def quotes(self, quotes: list[Quote]) -> None:
        self.run(lambda: self.fake.exchange.on_quotes(quotes))

    def feed_quote(self, quote: Quote) -> None:
        """A tick on the feed only (a bad print: crossed, stale), until a newer quote replaces it."""

        def put() -> None:
            self.fake.overrides[quote.instrument_id] = quote

        self.run(put)

    def set_iv_rank(self, symbol: str, rank: Decimal) -> None:
        self.fake.call(lambda: self.fake.iv_rank.__setitem__(symbol, rank))

    def freeze(self, frozen: bool = True) -> None:
        """Stop (True) or resume (False) sending feed data; the socket stays open."""

        def set_frozen() -> None:
            self.fake.frozen = frozen
            if not frozen:
                self.fake.push_feed()

        self.fake.call(set_frozen)

    def drop(self) -> None:
        """Close every websocket (DXLink and the account streamer)."""
        self.fake.call(self.fake.drop())

    def expire_tokens(self) -> None:
        """Revoke the grant: access tokens are refused (401) and the refresh token no longer works."""
        self.fake.call(self.fake.expire_tokens)

    @property
    def place_orders(self) -> int:
        """Orders the API accepted through ``POST /orders`` so far."""
        return self.fake.call(lambda: self.fake.place_orders)

    def connections(self, kind: str) -> int:
        return self.fake.call(lambda: sum(1 for c in self.fake.conns if c.kind == kind))

    def settle(self, timeout: float = 5.0) -> None:
        self.fake.call(self.fake.flush(), timeout)

    def close(self) -> None:
        self.fake.close()


def start(
    exchange: SimExchange,
    *,
    clock: Clock,
    account_id: AccountId,
    market: object | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    account_number: str = "5WT00001",
) -> TastytradeSimulator:
    """Serve ``account_id`` of ``exchange`` as Tastytrade on ``host:port`` (0: a free port).

    ``market`` supplies option chains with model greeks (``option_chain`` in domain types, or a
    ``SyntheticMarket``) for the chain endpoint and the DXLink ``Greeks`` events.
    """
    chains = SyntheticOptionChains(market) if isinstance(market, SyntheticMarket) else market
    fake = FakeTastytrade(
        exchange,
        clock,
        account_id,
        account_number,
        REFRESH_TOKEN,
        chains if isinstance(chains, ChainMarket) else None,
    )
    fake.start(host, port)
    return TastytradeSimulator(fake)
