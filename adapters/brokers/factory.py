"""One way to open an account's broker clients: ``open_clients(context)`` by the account's broker.

Each adapter package has a ``factory`` module with ``open_clients(context) -> BrokerClients``;
they are imported lazily, so an SDK is loaded only by the accounts that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from configs.accounts import AccountConfig, BrokerCredentials
from core.clock import Clock
from core.errors import ConfigError
from core.ports import Execution, MarketData
from core.ports.market_data import VenueFeed

FACTORY_MODULES: dict[str, str] = {
    "sim": "adapters.brokers.sim.factory",
    "alpaca": "adapters.brokers.alpaca.factory",
    "tastytrade": "adapters.brokers.tastytrade.factory",
    "ibkr": "adapters.brokers.ibkr.factory",
}


@dataclass(frozen=True)
class BrokerContext:
    """What a factory needs to open one account's clients."""

    account: AccountConfig
    credentials: BrokerCredentials
    account_dir: Path
    clock: Clock


@dataclass
class BrokerClients:
    """An account's ``Execution`` and ``MarketData`` ports, and how to close them."""

    execution: Execution
    market_data: MarketData | None = None
    closers: tuple[Callable[[], Any], ...] = field(default=())
    venue: VenueFeed | None = None
    """The simulated exchange's feed (``None`` at a real broker, which sees the market itself)."""

    def close(self) -> None:
        for close in self.closers:
            close()


def open_clients(context: BrokerContext) -> BrokerClients:
    """The clients of ``context.account``'s broker; ``ConfigError`` names the account on failure."""
    broker = context.account.broker
    name = FACTORY_MODULES.get(broker)
    if name is None:
        raise ConfigError(f"accounts.{context.account.id}.broker: unknown broker {broker!r}")
    try:
        module = import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise  # the adapter exists but misses a dependency: say which, not "no adapter"
        raise ConfigError(
            f"accounts.{context.account.id}.broker: the {broker} adapter is not available ({exc.name})"
        ) from None
    factory: Callable[[BrokerContext], BrokerClients] = module.open_clients
    return factory(context)


def check_broker(account: AccountConfig) -> None:
    """Raise ``ConfigError`` naming the account if its broker has no adapter (before any actor starts)."""
    name = FACTORY_MODULES.get(account.broker)
    if name is None:
        raise ConfigError(f"accounts.{account.id}.broker: unknown broker {account.broker!r}")
    try:
        found = find_spec(name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ConfigError(
            f"accounts.{account.id}.broker: the {account.broker} adapter is not available ({name} is missing); "
            "use broker = 'sim' (paper trading on the simulated exchange)"
        )
