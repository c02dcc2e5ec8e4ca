"""The crash test over a broker's wire, shared by the broker simulators (IBKR, Tastytrade).

The venue (a ``SimExchange`` behind a broker simulator) lives in the test process and outlives
the trader; the trader runs in a child process with the real SDK and the broker's adapter, is
SIGKILLed at seeded ``crash_trader.Checkpoints``, and run again to recover. The market moves
only when the trader asks for a step's quotes (a file handshake in the work folder), so a run
is deterministic whatever the process timings.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig
from adapters.ledger import SqliteLedger
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler
from core.model import AccountBalance, ClientOrderId, Fill, InstrumentId, Money, Order, OrderStatus, Quote
from core.ports import Execution
from core.risk import RiskContext, RiskEngine
from tests.integration.crash_trader import (
    ACCOUNT,
    DAILY,
    LIMITS,
    STEPS,
    SYMBOLS,
    T0,
    CheckpointedExecution,
    Checkpoints,
    make_script,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = 3
KILLS = 5
LONG_AGO = T0 - timedelta(days=1)
T = TypeVar("T")


class Handle(Protocol):
    """What the harness needs of a running broker simulator."""

    def run(self, work: Callable[[], T]) -> T: ...
    def settle(self, timeout: float = 5.0) -> None: ...
    def close(self) -> None: ...


class Quotes(Protocol):
    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None: ...


class Balances(Protocol):
    def balance(self) -> AccountBalance: ...


# -- the trader (child process) -------------------------------------------------------------------
def ask_for_step(workdir: Path, step: int) -> None:
    (workdir / "want.tmp").write_text(str(step))
    (workdir / "want.tmp").replace(workdir / "want")
    deadline = time.monotonic() + 30
    while read_step(workdir / "published") < step:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the venue never published step {step}")
        time.sleep(0.002)


def read_step(path: Path) -> int:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return -1


def trade_steps(
    workdir: Path,
    seed: int,
    checkpoint: Checkpoints,
    adapter: Execution,
    data: Quotes,
    clock: SimClock,
    sync: Callable[[int], None],
) -> None:
    """Reconcile, then every step: ask for its quotes, ``sync(step)``, execute its signals, record."""
    execution = CheckpointedExecution(adapter, checkpoint)
    ledger = SqliteLedger(workdir / "ledger.db", clock)
    try:
        Reconciler(ACCOUNT, execution, ledger, clock).reconcile()
        checkpoint("reconciled")
        service = ExecutionService(
            ACCOUNT, execution, ledger, RiskEngine(LIMITS), clock, offset_cents=2, sleep=lambda _: None
        )
        script = make_script(seed)
        for step in range(STEPS):
            at = T0 + timedelta(minutes=step)
            if at > clock.now():
                clock.set(at)
            ask_for_step(workdir, step)
            sync(step)
            checkpoint("quote")
            for sig in (s for s in script.signals if s.step == step):
                service.execute(sig.suggestion(at), _context(adapter, data, ledger, clock))
                checkpoint("executed")
            service.process_events()
            checkpoint("recorded")
        (workdir / "labels").write_text(" ".join(checkpoint.labels))
    finally:
        ledger.close()


def _context(adapter: Balances, data: Quotes, ledger: SqliteLedger, clock: SimClock) -> RiskContext:
    now = clock.now()
    quotes = {}
    for s in SYMBOLS:
        q = data.latest_quote(s.id)
        if q is not None:  # the market moves only on request: the latest quote is the current one
            quotes[s.id] = Quote(q.instrument_id, q.bid, q.ask, now)
    return RiskContext(
        now=now,
        market_open=True,
        balance=adapter.balance(),
        positions={p.instrument.id: p for p in ledger.positions(ACCOUNT)},
        open_orders=ledger.orders(ACCOUNT, [s for s in OrderStatus if s.is_open]),
        daily_pnl=Money(0),
        quotes=quotes,
    )


# -- the venue (this process) -------------------------------------------------------------------
def open_exchange() -> tuple[SimClock, SimExchange]:
    clock = SimClock(T0)
    exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock)
    exchange.open_account(ACCOUNT, Money(1_000_000), margin=True)
    return clock, exchange


@dataclass
class WireVenue:
    """The exchange behind a simulator, answering a trader child process's step requests."""

    clock: SimClock
    exchange: SimExchange
    handle: Any
    trader: list[str]
    """``-m module`` and the arguments naming the simulator, before the work folder."""
    published: int = -1

    def publish(self, workdir: Path, step: int) -> None:
        """The quotes of every step up to ``step`` not yet published, then tell the trader."""
        script = make_script(SEED)
        for k in range(self.published + 1, step + 1):

            def move(k: int = k) -> None:
                if T0 + timedelta(minutes=k) > self.clock.now():
                    self.clock.set(T0 + timedelta(minutes=k))
                for quote in script.quotes[k]:
                    self.exchange.on_quote(quote)

            self.handle.run(move)
        self.published = max(self.published, step)
        self.handle.settle()
        (workdir / "published.tmp").write_text(str(self.published))
        (workdir / "published.tmp").replace(workdir / "published")

    def serve(self, workdir: Path, proc: subprocess.Popen[str]) -> int:
        """Answer the trader's step requests until it exits; its exit code."""
        while proc.poll() is None:
            want = read_step(workdir / "want")
            if want > self.published:
                self.publish(workdir, want)
            time.sleep(0.002)
        return proc.wait()

    def run_trader(self, workdir: Path, crash_after: int | None = None) -> int:
        cmd = [sys.executable, "-m", self.trader[0], str(workdir), *self.trader[1:], str(SEED)]
        cmd += [str(crash_after)] if crash_after else []
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            return self.serve(workdir, proc)


def fill_key(fill: Fill, cid: str) -> tuple[str, str, str, Decimal, Decimal]:
    return (cid, str(fill.instrument.id), fill.side.value, fill.quantity.value, fill.price.value)


def assert_ledger_holds(
    venue: WireVenue,
    workdir: Path,
    at_venue: Mapping[ClientOrderId, Order],
    venue_fills: list[tuple[str, str, str, Decimal, Decimal]],
) -> list[Fill]:
    """The ledger in ``workdir`` holds exactly the venue's orders (status, filled quantity), its
    fills (``fill_key``s) and positions; the once-per-day signal traded once, nothing is left
    PENDING and no discrepancy is open. Returns the ledger's fills (for id checks)."""
    ledger = SqliteLedger(workdir / "ledger.db", venue.clock)
    try:
        mine = {o.client_order_id: o for o in ledger.orders(ACCOUNT)}
        assert set(mine) == set(at_venue)
        for cid, order in at_venue.items():
            assert (mine[cid].status, mine[cid].filled_quantity) == (order.status, order.filled_quantity), cid
        fills = ledger.fills(ACCOUNT)
        assert len({f.fill_id for f in fills}) == len(fills)
        assert sorted(fill_key(f, str(f.client_order_id)) for f in fills) == sorted(venue_fills), "lost fills"
        ours = {p.instrument.id: p.net for p in ledger.positions(ACCOUNT) if not p.is_flat}
        theirs = {p.instrument.id: p.net for p in venue.handle.run(lambda: venue.exchange.positions(ACCOUNT))}
        assert ours == theirs
        daily = [o for o in mine.values() if o.strategy == DAILY and o.status.counts_as_trade]
        assert len(daily) == 1
        assert not any(o.status is OrderStatus.PENDING for o in mine.values())
        assert not ledger.has_open_discrepancies(ACCOUNT)
        return fills
    finally:
        ledger.close()


def kill_and_recover(
    tmp_path: Path,
    open_venue: Callable[[], WireVenue],
    expected_of: Callable[[WireVenue], frozenset[Any]],
    assert_recovered: Callable[[WireVenue, Path, frozenset[Any]], None],
) -> None:
    """An uninterrupted reference run, then ``KILLS`` runs each SIGKILLed at a seeded checkpoint
    (two right after the venue acknowledged a submission, two after events were taken) and
    recovered by a second run; ``assert_recovered`` checks each against the reference."""
    reference = open_venue()
    try:
        ref_dir = tmp_path / "reference"
        ref_dir.mkdir()
        assert reference.run_trader(ref_dir) == 0
        labels = (ref_dir / "labels").read_text().split()
        expected = expected_of(reference)
        assert expected
    finally:
        reference.handle.close()

    rng = random.Random(SEED)
    acks = [i + 1 for i, label in enumerate(labels) if label == "venue_ack"]
    drains = [i + 1 for i, label in enumerate(labels) if label == "events_taken"]
    points = rng.sample(acks, 2) + rng.sample(drains, 2) + [rng.randint(1, len(labels))]
    killed_at = []
    for run, point in enumerate(points[:KILLS]):
        venue = open_venue()
        try:
            workdir = tmp_path / f"run-{run}"
            workdir.mkdir()
            assert venue.run_trader(workdir, point) == -signal.SIGKILL
            killed_at.append(labels[point - 1])
            assert venue.run_trader(workdir) == 0
            assert_recovered(venue, workdir, expected)
        finally:
            venue.handle.close()
    assert {"venue_ack", "events_taken"} <= set(killed_at)
