"""Shared wiring for the trading-plane tests: one account end to end, no Ray, no mocks.

Real ``SimExchange``, ``SqliteLedger`` (in ``tmp_path``), embedded Redis (one server per test
module, a fresh key prefix per desk) and ``AccountService``. ``Desk.minute`` plays one bar event
the way the market-data actor and the account actor would: the clock moves to the bar's end,
the venue sees the bar (filling working orders), the quote cache gets the bar's bid/ask, and
the account runs its cycle.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import redis

from adapters.brokers.sim import SimExchange, SimExchangeConfig, SimExecutionClient, ZeroCommission
from adapters.cache import (
    EmbeddedRedis,
    RedisCommandInbox,
    RedisEventLog,
    RedisQuoteCache,
    RedisStateBoard,
    client_from_url,
)
from adapters.ledger import SqliteLedger
from adapters.ledger.purge import SqlitePurger
from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler, RetryPolicy
from core.model import AccountId, InstrumentId, Money, Order, Price, Quote
from core.ports.scorer import Scorer
from core.risk import RiskEngine, RiskLimits
from core.strategies import Intent, Strategy, complete_signals
from core.trading import AccountRuntimeConfig, AccountService, CycleReport

ACCOUNT = AccountId("acct-t")
SESSION = date(2025, 11, 3)
LIMITS = RiskLimits(
    max_risk_per_trade=Money(1_000),
    max_open_positions=5,
    max_exposure_per_symbol=Money(60_000),
    daily_loss_limit=Money(5_000),
)
_prefixes = itertools.count()


def session_bars(symbols: Sequence[str], day: date = SESSION, seed: int = 7) -> pl.DataFrame:
    cfg = SyntheticMarketConfig(seed=seed, symbols=tuple(symbols), start=day, end=day)
    return generate_bars(cfg)


def minutes(bars: pl.DataFrame) -> list[pl.DataFrame]:
    """One frame per bar start, in time order."""
    return [g for _, g in sorted(bars.partition_by("ts", as_dict=True).items(), key=lambda kv: kv[0])]


@pytest.fixture(scope="module")
def redis_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "raydesk.rdb").start()
    client = client_from_url(server.url)
    yield client
    client.close()
    server.stop()


class ScriptedStrategy:
    """A real ``Strategy``: enters long (or exits) on the bars listed, nothing else."""

    def __init__(
        self,
        entries: Mapping[tuple[str, datetime], tuple[float | None, float | None]] | None = None,
        exits: set[tuple[str, datetime]] | None = None,
        name: str = "scripted",
        warmup: int = 2,
    ) -> None:
        self.entries = dict(entries or {})
        self.exits = set(exits or set())
        self.name = name
        self.warmup = warmup

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        keys = list(zip(bars["symbol"].to_list(), bars["ts"].to_list(), strict=True))
        plan = [self.entries.get(k) for k in keys]
        return complete_signals(
            bars.with_columns(
                entry_long=pl.Series([p is not None for p in plan]),
                exit_long=pl.Series([k in self.exits for k in keys]),
                stop=pl.Series([p[0] if p else None for p in plan], dtype=pl.Float64),
                target=pl.Series([p[1] if p else None for p in plan], dtype=pl.Float64),
            )
        )

    def suggest(self, bars: pl.DataFrame) -> list[Intent]:
        from core.strategies import latest_intents

        return latest_intents(self.signals(bars))


@dataclass
class Desk:
    root: Path
    clock: SimClock
    calendar: MarketCalendar
    exchange: SimExchange
    client: SimExecutionClient
    ledger: SqliteLedger
    quotes: RedisQuoteCache
    events: RedisEventLog
    board: RedisStateBoard
    inbox: RedisCommandInbox
    service: AccountService
    reports: list[CycleReport] = field(default_factory=list)

    def feed(self, frame: pl.DataFrame, quotes: bool = True) -> None:
        """The market moves: venue bars and cached quotes at the bar's end, no account cycle."""
        ts: datetime = frame["ts"][0]
        self.clock.set(ts + timedelta(minutes=1))
        cached: list[Quote] = []
        for row in frame.iter_rows(named=True):
            self.exchange.on_bar(row["symbol"], row)
            cached.append(
                Quote(InstrumentId(row["symbol"]), Price(row["bid"]), Price(row["ask"]), self.clock.now())
            )
        if quotes:
            self.quotes.put_many(cached)

    def minute(self, frame: pl.DataFrame, quotes: bool = True) -> CycleReport:
        self.feed(frame, quotes)
        report = self.service.on_bars(frame)
        self.reports.append(report)
        return report

    def venue_orders(self) -> list[Order]:
        return self.client.orders_since(datetime(2000, 1, 1, tzinfo=UTC))

    def event_kinds(self) -> list[str]:
        prefix_events = self.events.read(count=100_000)
        return [e["kind"] for _, e in prefix_events]


def build_service(
    desk_parts: dict[str, Any],
    strategies: Sequence[Strategy],
    config: AccountRuntimeConfig,
    scorer: Scorer | None = None,
) -> AccountService:
    p = desk_parts
    execution = ExecutionService(
        ACCOUNT,
        p["client"],
        p["ledger"],
        RiskEngine(LIMITS),
        p["clock"],
        config.entry_offset_cents,
        RetryPolicy(attempts=2, wait_seconds=0.0),
    )
    return AccountService(
        ACCOUNT,
        strategies,
        execution,
        Reconciler(ACCOUNT, p["client"], p["ledger"], p["clock"]),
        p["ledger"],
        p["client"],
        LIMITS,
        p["quotes"],
        p["events"],
        p["board"],
        p["inbox"],
        scorer,
        p["clock"],
        p["calendar"],
        config,
        purger=SqlitePurger(p["ledger"].path),
    )


def make_desk(
    root: Path,
    client: redis.Redis,
    strategies: Sequence[Strategy],
    config: AccountRuntimeConfig | None = None,
    scorer: Scorer | None = None,
    start: datetime | None = None,
    cash: int = 100_000,
) -> Desk:
    root.mkdir(parents=True, exist_ok=True)
    config = config or AccountRuntimeConfig()
    calendar = MarketCalendar()
    clock = SimClock(start or calendar.session_open_close(SESSION)[0] - timedelta(minutes=5))
    exchange = SimExchange(
        SimExchangeConfig(fsync=False, commission=ZeroCommission()),
        clock,
        is_open=calendar.is_open,
        session_close=calendar.next_close,
    )
    exchange.open_account(ACCOUNT, Money(cash))
    prefix = f"t{next(_prefixes)}"
    parts: dict[str, Any] = {
        "clock": clock,
        "calendar": calendar,
        "exchange": exchange,
        "client": SimExecutionClient(exchange, ACCOUNT),
        "ledger": SqliteLedger(root / "ledger.db", clock=clock),
        "quotes": RedisQuoteCache(client, clock, prefix=prefix),
        "events": RedisEventLog(client, prefix=prefix),
        "board": RedisStateBoard(client, prefix=prefix),
        "inbox": RedisCommandInbox(client, prefix=prefix),
    }
    service = build_service(parts, strategies, config, scorer)
    return Desk(root=root, service=service, **parts)


def restart(desk: Desk, strategies: Sequence[Strategy], config: AccountRuntimeConfig | None = None) -> Desk:
    """A new ``AccountService`` (and ledger connection) over the same ledger file and venue."""
    ledger = SqliteLedger(desk.ledger.path, clock=desk.clock)
    parts: dict[str, Any] = {
        "clock": desk.clock,
        "calendar": desk.calendar,
        "exchange": desk.exchange,
        "client": desk.client,
        "ledger": ledger,
        "quotes": desk.quotes,
        "events": desk.events,
        "board": desk.board,
        "inbox": desk.inbox,
    }
    service = build_service(parts, strategies, config or desk.service.config)
    return Desk(root=desk.root, service=service, **parts)


def equity(desk: Desk) -> Decimal:
    return desk.client.balance().equity.amount
