"""Two trading cycles racing on the once-per-day guard: exactly one trade, every run.

Each cycle has its own ledger connection on one shared ledger file, its own broker client and
its own signal (so client-id deduplication cannot hide a race: only the guard can stop the
second trade). Both wait on a barrier, then execute at once. Racing processes, racing threads,
and processes racing ``Ledger.reserve`` directly (past the service's non-atomic pre-check). Each
race runs on a SQLite file and on a PostgreSQL database.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.ledger.postgres import open_ledger
from core.clock import SimClock
from core.execution import ExecutionOutcome, ExecutionService
from core.model import Money, OrderSide, OrderStatus, Price, Quote
from core.ports.ledger import ReservationOutcome
from core.risk import RiskContext, RiskEngine
from tests.integration.crash_trader import ACCOUNT, DAILY, LIMITS, SESSION, SYMBOLS, T0, Signal
from tests.postgres_server import PostgresServer

REPETITIONS = 20
CYCLES = 2
AAPL = SYMBOLS[0]

pytestmark = pytest.mark.timeout(120)
Location = Path | str
"""A ledger: a SQLite file or a PostgreSQL URL."""


@pytest.fixture(params=["sqlite", "postgres"])
def new_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[int], Location]:
    """Makes a fresh, migrated ledger for each run (so the race is on the guard, not the schema)."""

    def make(run: int) -> Location:
        location: Location
        if request.param == "sqlite":
            location = tmp_path / f"ledger-{run}.db"
        else:
            server: PostgresServer = request.getfixturevalue("postgres_server")
            location = server.new_database()
        open_ledger(location, SimClock(T0)).close()
        return location

    return make


def cycle(path: Location, name: str, barrier: Any, direct: bool = False) -> str:
    """One trading cycle: set up, wait for the others, execute a once-per-day signal."""
    clock = SimClock(T0 + timedelta(minutes=15))
    exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock)
    exchange.open_account(ACCOUNT, Money(1_000_000))
    quote = Quote(AAPL.id, Price("190.00"), Price("190.10"), clock.now())
    exchange.on_quote(quote)
    client = SimExecutionClient(exchange, ACCOUNT)
    with open_ledger(path, clock) as ledger:
        service = ExecutionService(ACCOUNT, client, ledger, RiskEngine(LIMITS), clock, offset_cents=4)
        suggestion = Signal(0, name, AAPL, OrderSide.BUY, 5, DAILY, True).suggestion(clock.now())
        ctx = RiskContext(clock.now(), True, client.balance(), {}, [], Money(0), {AAPL.id: quote})
        order = service.build_order(suggestion, ctx)
        barrier.wait()
        if direct:
            return ledger.reserve(order, SESSION, guard=True).outcome.value
        result = service.execute(suggestion, ctx)
        sent = len(client.open_orders())
        return f"{result.outcome.value}:{sent}"


def _process_cycle(path: Location, name: str, barrier: Any, direct: bool, results: Any) -> None:
    results.put(cycle(path, name, barrier, direct))


def race_processes(path: Location, direct: bool = False) -> list[str]:
    mp = multiprocessing.get_context("fork")
    barrier, results = mp.Barrier(CYCLES), mp.Queue()
    procs = [
        mp.Process(target=_process_cycle, args=(path, f"cycle-{i}", barrier, direct, results))
        for i in range(CYCLES)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return sorted(outcomes)


def race_threads(path: Location, direct: bool = False) -> list[str]:
    barrier = threading.Barrier(CYCLES)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            outcomes.append(cycle(path, name, barrier, direct))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(f"cycle-{i}",)) for i in range(CYCLES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    return sorted(outcomes)


def _live_trades(path: Location) -> list[Any]:
    with open_ledger(path, SimClock(T0)) as ledger:
        return [o for o in ledger.orders(ACCOUNT) if o.status.counts_as_trade]


@pytest.mark.parametrize("race", [race_processes, race_threads], ids=["processes", "threads"])
def test_exactly_one_trade_every_run(
    race: Callable[[Location], list[str]], new_ledger: Callable[[int], Location]
) -> None:
    for run in range(REPETITIONS):
        path = new_ledger(run)
        outcomes = race(path)
        assert outcomes == [
            f"{ExecutionOutcome.SKIPPED_GUARD.value}:0",
            f"{ExecutionOutcome.SUBMITTED.value}:1",
        ], f"run {run}"
        [trade] = _live_trades(path)
        assert trade.status is OrderStatus.ACCEPTED


def test_reserve_itself_is_atomic_across_processes(new_ledger: Callable[[int], Location]) -> None:
    for run in range(REPETITIONS):
        path = new_ledger(run)
        outcomes = race_processes(path, direct=True)
        assert outcomes == sorted([ReservationOutcome.GUARD_HELD.value, ReservationOutcome.RESERVED.value])
        assert len(_live_trades(path)) == 1
