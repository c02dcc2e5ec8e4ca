"""Crash recovery with the IBKR venue: a trader SIGKILLed at seeded points sends no order twice
and loses no fill.

The venue (a ``SimExchange`` behind the fake TWS) lives in the test process and outlives the
trader; the trader runs in a child process (``python -m tests.integration.test_ibkr_crash``)
with the real ib_async client, the IBKR adapter and a SQLite ledger, and is killed at seeded
checkpoints of ``crash_trader.Checkpoints`` (right after TWS acknowledged a submission, after
events were taken but before they were recorded, ...). A second run of the same trader recovers
(start-up and recovery are one path: connect, match by orderRef/permId, reconcile, re-execute
every signal). Then: one placeOrder per client order id ever reached TWS (no duplicate), the
venue holds the orders of an uninterrupted run, and the ledger holds exactly the venue's fills,
orders and positions.

The market moves only when the trader asks for a step's quotes (a file handshake in the work
folder), so the run is deterministic whatever the process timings.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.data import IbkrMarketData
from adapters.brokers.ibkr.execution import IbkrExecution
from adapters.brokers.ibkr.session import IbSession
from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig
from adapters.ledger import SqliteLedger
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler
from core.model import ClientOrderId, Fill, Money, OrderStatus, Quote
from core.risk import RiskContext, RiskEngine
from simulators import ibkr as ibkr_simulator
from simulators.ibkr import IbkrSimulator
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
CLIENT_ID = 11
LONG_AGO = T0 - timedelta(days=1)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


# -- the trader (child process) -------------------------------------------------------------------
def _ask_for_step(workdir: Path, step: int) -> None:
    (workdir / "want.tmp").write_text(str(step))
    (workdir / "want.tmp").replace(workdir / "want")
    deadline = time.monotonic() + 30
    while _read(workdir / "published") < step:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the venue never published step {step}")
        time.sleep(0.002)


def _read(path: Path) -> int:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return -1


def trade(workdir: Path, port: int, seed: int, crash_after: int | None) -> None:
    """Run (or resume) the session of ``seed`` against the TWS on ``port``."""
    checkpoint = Checkpoints(crash_after)
    clock = SimClock(T0)
    settings = IbkrSettings(port=port, client_id=CLIENT_ID, connect_timeout=5.0)
    session = IbSession(settings, clock)
    adapter = IbkrExecution(session, ACCOUNT, clock)
    data = IbkrMarketData(session, clock)
    session.start()
    execution = CheckpointedExecution(adapter, checkpoint)
    ledger = SqliteLedger(workdir / "ledger.db", clock)
    try:
        Reconciler(ACCOUNT, execution, ledger, clock).reconcile()
        checkpoint("reconciled")
        service = ExecutionService(
            ACCOUNT, execution, ledger, RiskEngine(LIMITS), clock, offset_cents=2, sleep=lambda _: None
        )
        data.subscribe_quotes([s.id for s in SYMBOLS])
        script = make_script(seed)
        for step in range(STEPS):
            at = T0 + timedelta(minutes=step)
            if at > clock.now():
                clock.set(at)
            _ask_for_step(workdir, step)
            adapter.sync()
            checkpoint("quote")
            for sig in (s for s in script.signals if s.step == step):
                service.execute(sig.suggestion(at), _context(adapter, data, ledger, clock))
                checkpoint("executed")
            service.process_events()
            checkpoint("recorded")
        (workdir / "labels").write_text(" ".join(checkpoint.labels))
    finally:
        ledger.close()
        data.close()
        session.close()


def _context(
    adapter: IbkrExecution, data: IbkrMarketData, ledger: SqliteLedger, clock: SimClock
) -> RiskContext:
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
@dataclass
class Venue:
    clock: SimClock
    exchange: SimExchange
    handle: IbkrSimulator
    published: int = -1

    @classmethod
    def open(cls) -> Venue:
        clock = SimClock(T0)
        exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock)
        exchange.open_account(ACCOUNT, Money(1_000_000), margin=True)
        return cls(clock, exchange, ibkr_simulator.start(exchange, clock=clock, account_id=ACCOUNT))

    def publish(self, workdir: Path, step: int) -> None:
        """The quotes of every step up to ``step`` not yet published, then tell the trader."""
        script = make_script(SEED)
        for k in range(self.published + 1, step + 1):
            at = T0 + timedelta(minutes=k)

            def move(k: int = k, at: object = at) -> None:
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
            want = _read(workdir / "want")
            if want > self.published:
                self.publish(workdir, want)
            time.sleep(0.002)
        return proc.wait()

    def run_trader(self, workdir: Path, crash_after: int | None = None) -> int:
        cmd = [sys.executable, "-m", "tests.integration.test_ibkr_crash", str(workdir), str(self.handle.port)]
        cmd += [str(SEED)] + ([str(crash_after)] if crash_after else [])
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            return self.serve(workdir, proc)

    def orders(self) -> dict[ClientOrderId, object]:
        return {
            o.client_order_id: o
            for o in self.handle.run(lambda: self.exchange.orders_since(ACCOUNT, LONG_AGO))
        }


def labels_of(workdir: Path) -> list[str]:
    return (workdir / "labels").read_text().split()


def assert_recovered(venue: Venue, workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    refs = venue.handle.tws.refs
    assert len(refs) == len(set(refs)), "an order reached TWS twice"
    at_venue = venue.handle.run(
        lambda: {o.client_order_id: o for o in venue.exchange.orders_since(ACCOUNT, LONG_AGO)}
    )
    assert set(at_venue) == expected == {ClientOrderId(r) for r in refs}
    ledger = SqliteLedger(workdir / "ledger.db", venue.clock)
    try:
        mine = {o.client_order_id: o for o in ledger.orders(ACCOUNT)}
        assert set(mine) == set(at_venue)
        for cid, order in at_venue.items():
            assert (mine[cid].status, mine[cid].filled_quantity) == (order.status, order.filled_quantity), cid
        tws_orders = venue.handle.tws.orders.values()
        executions = {e.exec_id for vo in tws_orders for e in vo.executions if e.contract.sec_type != "BAG"}
        fills = {str(f.fill_id): f for f in ledger.fills(ACCOUNT)}
        assert set(fills) == executions, "lost or invented fills"
        venue_fills = venue.handle.run(lambda: venue.exchange.fills_since(ACCOUNT, LONG_AGO))
        assert sorted(map(_key, fills.values())) == sorted(map(_key, venue_fills))
        ours = {p.instrument.id: p.net for p in ledger.positions(ACCOUNT) if not p.is_flat}
        theirs = {p.instrument.id: p.net for p in venue.handle.run(lambda: venue.exchange.positions(ACCOUNT))}
        assert ours == theirs
        daily = [o for o in mine.values() if o.strategy == DAILY and o.status.counts_as_trade]
        assert len(daily) == 1
        assert not any(o.status is OrderStatus.PENDING for o in mine.values())
        assert not ledger.has_open_discrepancies(ACCOUNT)
    finally:
        ledger.close()


def _key(fill: Fill) -> tuple[str, str, str, Decimal, Decimal]:
    return (
        str(fill.client_order_id),
        str(fill.instrument.id),
        fill.side.value,
        fill.quantity.value,
        fill.price.value,
    )


def test_sigkilled_ibkr_trader_recovers_without_duplicates_or_lost_fills(tmp_path: Path) -> None:
    reference = Venue.open()
    try:
        ref_dir = tmp_path / "reference"
        ref_dir.mkdir()
        assert reference.run_trader(ref_dir) == 0
        labels = labels_of(ref_dir)
        expected = frozenset(reference.orders())
        assert expected and reference.handle.tws.refs
    finally:
        reference.handle.close()

    rng = random.Random(SEED)
    acks = [i + 1 for i, label in enumerate(labels) if label == "venue_ack"]
    drains = [i + 1 for i, label in enumerate(labels) if label == "events_taken"]
    points = rng.sample(acks, 2) + rng.sample(drains, 2) + [rng.randint(1, len(labels))]
    killed_at = []
    for run, point in enumerate(points[:KILLS]):
        venue = Venue.open()
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


def main(argv: list[str]) -> int:
    workdir, port, seed = Path(argv[0]), int(argv[1]), int(argv[2])
    crash_after = int(argv[3]) if len(argv) > 3 else None
    trade(workdir, port, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
