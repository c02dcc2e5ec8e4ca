"""A real desk of simulated accounts for the TUI's tests, without Ray.

Each account is an ``AccountKernel`` opened by ``adapters.account.wiring.open_kernel``, the same
object the account actor wraps (the actor's ``command`` and the inbox drained at each bar cycle
both end in ``AccountService.apply_command``). The accounts share one embedded Redis and one SQLite ledger
and trade a synthetic session on their simulated exchanges; a test steps them minute by minute.
Commands sent by the TUI are queued in the Redis command inbox and applied by the account at its
next bar cycle, as a running actor does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.account.spec import AccountSpec
from adapters.account.wiring import open_kernel
from adapters.cache import RedisCommandInbox, RedisEventLog, RedisQuoteCache, RedisStateBoard, client_from_url
from adapters.market.session import SessionBars
from adapters.market.synthetic import SessionGrid, SyntheticMarketConfig, daily_bars, simulate_symbol
from adapters.store import BarStore
from configs import Settings, load_settings
from configs.accounts import AccountConfig, RiskLimits
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.messages import quotes_of
from core.trading.kernel import AccountKernel

SYMBOLS = ("SYNA", "SYNB")
SESSION = date(2024, 11, 29)
RISK = RiskLimits(max_risk_per_trade=Decimal(1000), max_exposure_per_symbol=Decimal(50000))
ACCOUNTS = ("alpha", "beta")


def write_bars(root: Path) -> Path:
    store = BarStore(root)
    config = SyntheticMarketConfig(seed=7, symbols=SYMBOLS, start=date(2024, 11, 20), end=SESSION)
    grid = SessionGrid.build(config.start, config.end)
    for symbol in SYMBOLS:
        minute = simulate_symbol(config, symbol, grid).bars
        store.write(minute, "1m")
        store.write(daily_bars(minute), "1d")
    return root


def account_config(account_id: str) -> AccountConfig:
    return AccountConfig(id=account_id, broker="sim", strategies=["sma_cross"], risk=RISK)


@dataclass
class Desk:
    """Two simulated accounts trading one session; ``step`` moves every account one minute."""

    root: Path
    data_dir: Path
    redis_url: str
    hosts: dict[str, AccountKernel] = field(default_factory=dict)
    minute: int = 0

    def __post_init__(self) -> None:
        self.bars = SessionBars(BarStore(self.data_dir), SESSION, SYMBOLS)
        self.instants = self.bars.instants
        self.redis = client_from_url(self.redis_url)
        self.quotes = RedisQuoteCache(self.redis, SimClock(self.instants[0]))
        self.events = RedisEventLog(self.redis)
        self.board = RedisStateBoard(self.redis)
        self.inbox = RedisCommandInbox(self.redis)

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite3"

    def spec(self, account_id: str) -> AccountSpec:
        open_, _ = MarketCalendar().session_open_close(SESSION)
        return AccountSpec(
            account_config(account_id),
            self.ledger_path,
            self.root / "state",
            self.redis_url,
            data_dir=self.data_dir,
            symbols=SYMBOLS,
            start=open_,
        )

    def start(self, accounts: tuple[str, ...] = ACCOUNTS) -> None:
        for account in accounts:
            self.hosts[account] = open_kernel(self.spec(account))
            self.hosts[account].start()

    def step(self, n: int = 1) -> None:
        """Every account takes the next ``n`` minutes (commands in the inbox apply first)."""
        for _ in range(n):
            at = self.instants[self.minute]
            event = self.bars.minute(at)
            assert event is not None
            self.quotes.put_many(quotes_of(event.bars, at))
            for host in self.hosts.values():
                host.on_bars(event)
            self.minute += 1

    def state(self, account: str) -> dict[str, Any]:
        state = self.board.get_account_state(account)
        assert state is not None
        return state

    def queued(self, account: str) -> int:
        return int(self.redis.llen(f"raydesk:cmd:{account}"))

    def settings(self) -> Settings:
        return load_settings(
            "test",
            env={},
            overrides={
                "accounts": [account_config(a).model_dump(mode="json") for a in ACCOUNTS],
                "ledger": {"path": str(self.ledger_path)},
                "redis": {"url": self.redis_url},
            },
        )

    def close(self) -> None:
        for host in self.hosts.values():
            host.close()
        self.redis.close()


def replay_until_positions(desk: Desk, limit: int = 240) -> None:
    """Step until every account holds a position (sma_cross trades within the first hours)."""
    while any(not desk.state(a)["positions"] for a in desk.hosts):
        assert desk.minute < limit, "sma_cross opened no position"
        desk.step()


def desk_at(root: Path, data_dir: Path, redis_url: str) -> Iterator[Desk]:
    desk = Desk(root, data_dir, redis_url)
    try:
        yield desk
    finally:
        desk.close()
