"""Local simulators of real brokers' wire protocols, with the simulated exchange behind them.

Each speaks what the broker's SDK speaks (REST, websocket frames, msgpack, the TWS socket
format) on 127.0.0.1, so the real SDK client is exercised exactly as in production: by the
contract suite, the crash tests and ``raydesk demo --venue <broker>-sim``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from configs.accounts import BrokerCredentials

SIMULATED_VENUES: dict[str, str] = {
    "alpaca-sim": "simulators.alpaca",
    "tastytrade-sim": "simulators.tastytrade",
    "ibkr-sim": "simulators.ibkr",
}
"""``--venue`` names of the simulators, and the module whose ``start`` serves a ``SimExchange``.

Each module has ``start(exchange, *, clock, account_id, market=None, host="127.0.0.1", port=0)
-> SimulatorHandle``: the simulator serves that (in-process) exchange over the broker's wire
protocol on a free loopback port until ``close``.
"""


class SimulatorHandle(Protocol):
    """A running broker simulator."""

    @property
    def broker(self) -> str:
        """The broker whose protocol it speaks (``alpaca``, ``tastytrade``, ``ibkr``)."""
        ...

    @property
    def credentials(self) -> BrokerCredentials:
        """Settings that point that broker's adapter at this simulator (URLs, ports, test keys)."""
        ...

    def settle(self, timeout: float = 5.0) -> None:
        """Return once every event the exchange produced so far has been sent to the connected
        clients and acknowledged by the socket (so an adapter that polls next sees it)."""
        ...

    def close(self) -> None:
        """Stop serving and release the port."""
        ...


def simulator_module(venue: str) -> object:
    """The module of simulator ``venue`` (``alpaca-sim``, ...); ``KeyError`` if unknown."""
    return import_module(SIMULATED_VENUES[venue])
