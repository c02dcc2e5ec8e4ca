"""Crash recovery with the Tastytrade venue: a trader SIGKILLed at seeded points sends no order
twice and loses no fill.

The venue (a ``SimExchange`` behind the fake Tastytrade) lives in the test process and outlives
the trader; the trader runs in a child process (``python -m tests.integration.test_tastytrade_crash``)
with the real ``tastytrade`` SDK, the Tastytrade adapter and a SQLite ledger, and is killed at
seeded checkpoints of ``crash_trader.Checkpoints`` (right after the API acknowledged a
submission, after events were taken but before they were recorded, ...). A second run recovers
(start-up and recovery are one path: authenticate, reconcile the order history by external
identifier, re-execute every signal: the adapter finds an order already placed). Then: one
``POST /orders`` per client order id ever reached the API, the venue holds the orders of an
uninterrupted run, and the ledger holds exactly the venue's fills, orders and positions.

The market moves only when the trader asks for a step's quotes (a file handshake), as in the
IBKR crash test.
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
from pydantic import SecretStr

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig
from adapters.brokers.tastytrade.config import TastytradeSettings
from adapters.brokers.tastytrade.data import TastytradeMarketData
from adapters.brokers.tastytrade.execution import TastytradeExecution
from adapters.brokers.tastytrade.session import TtSession
from adapters.ledger import SqliteLedger
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler
from core.model import ClientOrderId, Fill, Money, Order, OrderStatus, Quote
from core.risk import RiskContext, RiskEngine
from simulators import tastytrade as tastytrade_simulator
from simulators.tastytrade import PROVIDER_SECRET, REFRESH_TOKEN, TastytradeSimulator
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


def trade(workdir: Path, url: str, seed: int, crash_after: int | None) -> None:
    """Run (or resume) the session of ``seed`` against the fake Tastytrade at ``url``."""
    checkpoint = Checkpoints(crash_after)
    clock = SimClock(T0)
    settings = TastytradeSettings(
        SecretStr(PROVIDER_SECRET),
        SecretStr(REFRESH_TOKEN),
        api_url=url,
        streamer_url=url.replace("http://", "ws://") + "/alerts",
        stabilise_s=0.0,
        backoff_initial=0.05,
    )
    session = TtSession(settings, clock).start()
    adapter = TastytradeExecution(session, ACCOUNT, clock)
    adapter.start()
    data = TastytradeMarketData(session, clock)
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
            data.wait_for([s.id for s in SYMBOLS], newer_than=at - timedelta(seconds=1))
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
    adapter: TastytradeExecution, data: TastytradeMarketData, ledger: SqliteLedger, clock: SimClock
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
    handle: TastytradeSimulator
    published: int = -1

    @classmethod
    def open(cls) -> Venue:
        clock = SimClock(T0)
        exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock)
        exchange.open_account(ACCOUNT, Money(1_000_000), margin=True)
        return cls(clock, exchange, tastytrade_simulator.start(exchange, clock=clock, account_id=ACCOUNT))

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
            want = _read(workdir / "want")
            if want > self.published:
                self.publish(workdir, want)
            time.sleep(0.002)
        return proc.wait()

    def run_trader(self, workdir: Path, crash_after: int | None = None) -> int:
        cmd = [sys.executable, "-m", "tests.integration.test_tastytrade_crash", str(workdir), self.handle.url]
        cmd += [str(SEED)] + ([str(crash_after)] if crash_after else [])
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            return self.serve(workdir, proc)

    def orders(self) -> dict[ClientOrderId, Order]:
        """The venue's orders by the external identifier they were placed with."""
        fake = self.handle.fake

        def collect() -> dict[ClientOrderId, Order]:
            out = {}
            for placed in fake.orders.values():
                order = self.exchange.get_order(ACCOUNT, placed.sim_id)
                assert order is not None and placed.external_identifier
                out[ClientOrderId(placed.external_identifier)] = order
            return out

        return fake.call(collect)

    def fills(self) -> list[tuple[str, str, str, Decimal, Decimal]]:
        fake = self.handle.fake

        def collect() -> list[tuple[str, str, str, Decimal, Decimal]]:
            ext = {p.sim_id: p.external_identifier for p in fake.orders.values()}
            return [
                _key(f, str(ext[f.client_order_id]))
                for f in self.exchange.fills_since(ACCOUNT, LONG_AGO)
                if f.client_order_id in ext
            ]

        return fake.call(collect)


def labels_of(workdir: Path) -> list[str]:
    return (workdir / "labels").read_text().split()


def assert_recovered(venue: Venue, workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    refs = venue.handle.fake.call(lambda: list(venue.handle.fake.refs))
    assert len(refs) == len(set(refs)), "an order was placed twice"
    at_venue = venue.orders()
    assert set(at_venue) == expected == {ClientOrderId(r) for r in refs}
    ledger = SqliteLedger(workdir / "ledger.db", venue.clock)
    try:
        mine = {o.client_order_id: o for o in ledger.orders(ACCOUNT)}
        assert set(mine) == set(at_venue)
        for cid, order in at_venue.items():
            assert (mine[cid].status, mine[cid].filled_quantity) == (order.status, order.filled_quantity), cid
        fills = ledger.fills(ACCOUNT)
        assert len({f.fill_id for f in fills}) == len(fills)
        assert sorted(_key(f, str(f.client_order_id)) for f in fills) == sorted(venue.fills()), (
            "lost or invented fills"
        )
        ours = {p.instrument.id: p.net for p in ledger.positions(ACCOUNT) if not p.is_flat}
        theirs = {p.instrument.id: p.net for p in venue.handle.run(lambda: venue.exchange.positions(ACCOUNT))}
        assert ours == theirs
        daily = [o for o in mine.values() if o.strategy == DAILY and o.status.counts_as_trade]
        assert len(daily) == 1
        assert not any(o.status is OrderStatus.PENDING for o in mine.values())
        assert not ledger.has_open_discrepancies(ACCOUNT)
    finally:
        ledger.close()


def _key(fill: Fill, cid: str) -> tuple[str, str, str, Decimal, Decimal]:
    return (cid, str(fill.instrument.id), fill.side.value, fill.quantity.value, fill.price.value)


def test_sigkilled_tastytrade_trader_recovers_without_duplicates_or_lost_fills(tmp_path: Path) -> None:
    reference = Venue.open()
    try:
        ref_dir = tmp_path / "reference"
        ref_dir.mkdir()
        assert reference.run_trader(ref_dir) == 0
        labels = labels_of(ref_dir)
        expected = frozenset(reference.orders())
        assert expected and reference.fills()
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
    workdir, url, seed = Path(argv[0]), argv[1], int(argv[2])
    crash_after = int(argv[3]) if len(argv) > 3 else None
    trade(workdir, url, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
