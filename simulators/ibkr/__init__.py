"""A fake TWS (``FakeTws``) on 127.0.0.1 with the simulated exchange behind it.

``start(exchange, clock=..., account_id=...)`` serves one account over the TWS API socket
protocol on a free port; the handle's ``credentials`` point the IBKR adapter at it. Tests and
drivers change the market through the handle (``quote``, ``end_session``, ``run``), so every
touch of the exchange happens on the server's loop, and inject faults (``code``, ``drop``,
``refuse``, ``hold_client_id``).
"""

from __future__ import annotations

from adapters.brokers.sim import SimExchange
from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.quotes_bridge import SyntheticOptionChains
from configs.accounts import BrokerCredentials, IbkrConnection
from core.clock import Clock
from core.model import AccountId, ClientOrderId, OptionContract
from simulators.handle import ExchangeHandle
from simulators.ibkr.base import con_id_of
from simulators.ibkr.market import BarMarket, ChainMarket
from simulators.ibkr.server import FakeTws

__all__ = ["FakeTws", "IbkrSimulator", "con_id_of", "start"]

CODE_TEXT = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and TWS has been restored - data lost.",
    1102: "Connectivity between IB and TWS has been restored - data maintained.",
    2103: "Market data farm connection is broken:usfarm",
    2104: "Market data farm connection is OK:usfarm",
    2105: "HMDS data farm connection is broken:ushmds",
    2106: "HMDS data farm connection is OK:ushmds",
    2158: "Sec-def data farm connection is OK:secdefnj",
}


class IbkrSimulator(ExchangeHandle):
    """A running fake TWS (a ``SimulatorHandle``)."""

    broker = "ibkr"

    def __init__(self, tws: FakeTws, client_id: int) -> None:
        super().__init__(tws)
        self.tws = tws
        self._client_id = client_id

    @property
    def port(self) -> int:
        return self.tws.port

    @property
    def credentials(self) -> BrokerCredentials:
        connection = IbkrConnection(
            host=self.tws.host,
            port=self.tws.port,
            client_id=self._client_id,
            account=self.tws.ib_account,
            max_requests_per_second=0,  # the fake has no pacing limit
        )
        return BrokerCredentials(ibkr=connection)

    def list_options(self, contracts: list[OptionContract]) -> None:
        self.run(lambda: self.tws.list_options(contracts))

    def code(self, code: int, message: str = "") -> None:
        """Send a connection or farm code to every client (see ``FakeTws.broadcast_code``)."""
        self.tws.call(lambda: self.tws.broadcast_code(code, message or CODE_TEXT.get(code, "")))

    def drop(self) -> None:
        """Close every client socket."""
        self.tws.call(self.tws.drop())

    def refuse(self, refusing: bool = True) -> None:
        """Stop (True) or resume (False) accepting connections."""
        self.tws.call(self.tws.refuse(refusing))

    def hold_cancels(self, holding: bool = True) -> None:
        """Leave cancels PendingCancel until called with False (then TWS confirms them)."""
        self.run(lambda: self.tws.hold_cancels(holding))

    def mark_inactive(self, client_order_id: ClientOrderId) -> None:
        """Have TWS report the order Inactive (held, not cancelled)."""
        self.run(lambda: self.tws.mark_inactive(client_order_id))

    def hold_client_id(self, client_id: int, held: bool = True) -> None:
        """Pretend another application is connected with ``client_id``."""
        ids = self.tws.held_client_ids
        self.tws.call(lambda: ids.add(client_id) if held else ids.discard(client_id))

    @property
    def place_orders(self) -> int:
        """New orders received so far (modifications excluded)."""
        return self.tws.call(lambda: self.tws.place_orders)

    def settle(self, timeout: float = 5.0) -> None:
        async def flush() -> None:
            self.tws.pump()
            for session in list(self.tws.sessions):
                if not session.writer.is_closing():
                    await session.writer.drain()

        self.tws.call(flush(), timeout)

    def close(self) -> None:
        self.tws.close()


def start(
    exchange: SimExchange,
    *,
    clock: Clock,
    account_id: AccountId,
    market: object | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    client_id: int = 7,
) -> IbkrSimulator:
    """Serve ``account_id`` of ``exchange`` as a TWS on ``host:port`` (0: a free port).

    ``market`` supplies option chains with their model greeks (``option_chain`` in domain types,
    or a ``SyntheticMarket``) and historical bars (``bars``).
    """
    chains = SyntheticOptionChains(market) if isinstance(market, SyntheticMarket) else market
    tws = FakeTws(
        exchange,
        clock,
        account_id,
        chains if isinstance(chains, ChainMarket) else None,
        market if isinstance(market, BarMarket) else None,
    )
    tws.start(host, port)
    tws.call(lambda: tws.adopt_open_orders(client_id))
    return IbkrSimulator(tws, client_id)
