"""Crash recovery: a trader SIGKILLed at seeded points loses no fill and doubles no order.

Each run starts ``crash_trader.run_session`` in a child process that kills itself (SIGKILL) at
a seeded checkpoint: after a quote (the venue may have filled an order the ledger has not heard
of), right after the venue acknowledged a submission (the ledger still says PENDING), after
events were taken from the broker but before they were recorded, and so on. Then the parent
reopens venue and ledger, runs the Reconciler and finishes the session (``run_session`` again:
start-up and recovery are one path), and checks: one venue order per signal that traded (the
same set as an uninterrupted run), every venue fill in the ledger and no other, ledger
positions equal to the venue's, order states equal, no PENDING order left, no discrepancy, and
the once-per-day guard held (on a SQLite ledger, and for some seeds on PostgreSQL). A few runs kill a freshly started interpreter after a seeded delay
instead, to hit arbitrary instants (inside a ledger commit or a venue state write).
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from core.model import ClientOrderId, OrderStatus
from tests.integration.crash_trader import ACCOUNT, DAILY, LEDGER_URL_FILE, T0, open_venue, run_session
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(6)
POSTGRES_SEEDS = range(2)
"""Seeds also run with the ledger on PostgreSQL (the same kills, the same checks)."""
FORKED_KILLS_PER_SEED = 10
TIMED_KILLS = 6
LONG_AGO = T0 - timedelta(days=1)

pytestmark = pytest.mark.timeout(120)


@dataclass(frozen=True)
class Reference:
    labels: tuple[str, ...]
    venue_orders: frozenset[ClientOrderId]
    seconds: float


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Reference]:
    """The uninterrupted session of each seed: its checkpoints and the orders it sends."""
    refs = {}
    for seed in SEEDS:
        workdir = tmp_path_factory.mktemp(f"reference-{seed}")
        started = time.monotonic()
        labels = tuple(run_session(workdir, seed).labels)
        seconds = time.monotonic() - started
        venue = open_venue(workdir)
        try:
            cids = frozenset(o.client_order_id for o in venue.client.orders_since(LONG_AGO))
        finally:
            venue.ledger.close()
        refs[seed] = Reference(labels, cids, seconds)
    return refs


def kill_points(seed: int, labels: tuple[str, ...]) -> Iterator[int]:
    """Seeded checkpoints to die at: some right after a venue ack or an event drain, the rest anywhere."""
    rng = random.Random(1000 + seed)
    at = {name: [i + 1 for i, lbl in enumerate(labels) if lbl == name] for name in set(labels)}
    yield from rng.sample(at["venue_ack"], min(3, len(at["venue_ack"])))
    yield from rng.sample(at["events_taken"], 2)
    for _ in range(FORKED_KILLS_PER_SEED - min(3, len(at["venue_ack"])) - 2):
        yield rng.randint(1, len(labels))


def crash_in_child(workdir: Path, seed: int, crash_after: int) -> int | None:
    # Forked: the child starts in milliseconds (no interpreter start, no imports).
    proc = multiprocessing.get_context("fork").Process(target=run_session, args=(workdir, seed, crash_after))
    proc.start()
    proc.join(timeout=60)
    return proc.exitcode


def assert_recovered(workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    venue = open_venue(workdir)
    try:
        at_venue = {o.client_order_id: o for o in venue.client.orders_since(LONG_AGO)}
        in_ledger = {o.client_order_id: o for o in venue.ledger.orders(ACCOUNT)}
        assert set(at_venue) == expected, "duplicate, missing or stray orders at the venue"
        assert set(in_ledger) == set(at_venue), "ledger orders differ from the venue's"
        for cid, order in at_venue.items():
            mine = in_ledger[cid]
            assert (mine.status, mine.filled_quantity) == (order.status, order.filled_quantity), cid
        venue_fills = {f.fill_id: f for f in venue.client.fills_since(LONG_AGO)}
        ledger_fills = {f.fill_id: f for f in venue.ledger.fills(ACCOUNT)}
        assert ledger_fills == venue_fills, "lost or invented fills"
        ours = {p.instrument.id: p.net for p in venue.ledger.positions(ACCOUNT) if not p.is_flat}
        theirs = {p.instrument.id: p.net for p in venue.exchange.positions(ACCOUNT)}
        assert ours == theirs
        daily_live = [o for o in in_ledger.values() if o.strategy == DAILY and o.status.counts_as_trade]
        assert len(daily_live) == 1
        assert not any(o.status is OrderStatus.PENDING for o in in_ledger.values())
        assert not venue.ledger.has_open_discrepancies(ACCOUNT)
    finally:
        venue.ledger.close()


@pytest.mark.parametrize(
    ("seed", "ledger"), [*((s, "sqlite") for s in SEEDS), *((s, "postgres") for s in POSTGRES_SEEDS)]
)
def test_sigkill_at_seeded_checkpoints_then_recover(
    seed: int, ledger: str, references: dict[int, Reference], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ref = references[seed]
    rng = random.Random(seed)
    killed_at: list[str] = []
    for run, point in enumerate(kill_points(seed, ref.labels)):
        workdir = tmp_path / f"run-{run}"
        workdir.mkdir()
        if ledger == "postgres":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            (workdir / LEDGER_URL_FILE).write_text(server.new_database())
        assert crash_in_child(workdir, seed, point) == -signal.SIGKILL
        killed_at.append(ref.labels[point - 1])
        if run % 4 == 3:
            # Die again while recovering; the resumed session may also finish first.
            assert crash_in_child(workdir, seed, rng.randint(1, 12)) in (0, -signal.SIGKILL)
        run_session(workdir, seed)
        assert_recovered(workdir, ref.venue_orders)
        assert (workdir / "ledger.db").exists() == (ledger == "sqlite")
    assert len(killed_at) == FORKED_KILLS_PER_SEED
    assert "venue_ack" in killed_at and "events_taken" in killed_at


def test_sigkill_a_fresh_interpreter_after_a_seeded_delay(
    references: dict[int, Reference], tmp_path: Path
) -> None:
    rng = random.Random(42)
    outcomes = []
    for run in range(TIMED_KILLS):
        seed = SEEDS[run % len(SEEDS)]
        ref = references[seed]
        workdir = tmp_path / f"timed-{run}"
        workdir.mkdir()
        cmd = [sys.executable, "-m", "tests.integration.crash_trader", str(workdir), str(seed)]
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
            time.sleep(rng.uniform(0, ref.seconds * 1.2))
            proc.send_signal(signal.SIGKILL)
            outcomes.append(proc.wait(timeout=60))
        run_session(workdir, seed)
        assert_recovered(workdir, ref.venue_orders)
    assert set(outcomes) <= {0, -signal.SIGKILL}
