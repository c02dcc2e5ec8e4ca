"""The ledger on real databases: pragmas, migrations, orders, fills, positions, events.

Every test that is not about SQLite itself runs twice: on a SQLite file and on a fresh database
of a real PostgreSQL server (``tests/postgres_server.py``).
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import LATEST_VERSION, SqliteLedger
from adapters.ledger.connection import Transactions, connect
from adapters.ledger.postgres import is_postgres_url, open_ledger
from core.clock import SimClock
from core.errors import DataError
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Instrument,
    Money,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Price,
    PriceEffect,
    Quantity,
    StrategyId,
)
from core.ports.ledger import NOT_RECEIVED_BY_BROKER, GuardKey, Ledger, ReservationOutcome, SnapshotKind
from tests.postgres_server import PostgresServer

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
ACCOUNT = AccountId("acct-1")
STRATEGY = StrategyId("trident")
SESSION = date(2025, 11, 3)
AAPL = Equity("AAPL")


@pytest.fixture
def clock() -> SimClock:
    return SimClock(T0)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a fresh ledger lives: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "ledger.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def ledger(location: str | Path, clock: SimClock) -> Iterator[SqliteLedger]:
    led = open_ledger(location, clock)
    yield led
    led.close()


@pytest.fixture
def sqlite_ledger(tmp_path: Path, clock: SimClock) -> Iterator[SqliteLedger]:
    led = SqliteLedger(tmp_path / "ledger.db", clock)
    yield led
    led.close()


def schema_versions(location: str | Path) -> list[int]:
    sql = "SELECT version FROM schema_version ORDER BY version"
    if is_postgres_url(location):
        import psycopg

        with psycopg.connect(str(location)) as conn:
            return [r[0] for r in conn.execute(sql)]
    return [r[0] for r in sqlite3.connect(location).execute(sql)]


def order(signal: str, strategy: StrategyId = STRATEGY, qty: int = 10) -> Order:
    cid = ClientOrderId.derive(ACCOUNT, strategy, SESSION, signal)
    return Order.single(
        cid, ACCOUNT, AAPL, OrderSide.BUY, qty, T0, OrderType.LIMIT, Price("190.25"), strategy=strategy
    )


def fill(n: int, side: OrderSide, qty: str, price: str, cid: str = "rd-x") -> Fill:
    return Fill(
        FillId(f"F{n}"),
        ClientOrderId(cid),
        ACCOUNT,
        AAPL,
        side,
        Quantity(qty),
        Price(price),
        T0 + timedelta(seconds=n),
        Money("0.35"),
    )


# -- durability settings and migrations ------------------------------------------------------
def test_wal_and_full_sync_are_set(sqlite_ledger: SqliteLedger) -> None:
    assert sqlite_ledger.pragma("journal_mode") == "wal"
    assert sqlite_ledger.pragma("synchronous") == 2  # FULL


def test_satisfies_the_port(ledger: SqliteLedger) -> None:
    assert isinstance(ledger, Ledger)


def test_fresh_file_is_migrated_to_latest(ledger: SqliteLedger, location: str | Path) -> None:
    assert ledger.schema_version == LATEST_VERSION == 2
    assert schema_versions(location) == [1, 2]


def test_upgrade_from_v1_keeps_data(location: str | Path, clock: SimClock) -> None:
    with open_ledger(location, clock, schema_version=1) as v1:
        assert v1.schema_version == 1
        assert schema_versions(location) == [1]
        v1.reserve(order("s1"), SESSION)
        assert v1.record_fill(fill(1, OrderSide.BUY, "10", "190"))
    with open_ledger(location, clock) as v2:
        assert v2.schema_version == 2
        assert v2.get_order(order("s1").client_order_id) is not None
        assert [p.net for p in v2.positions(ACCOUNT)] == [Decimal(10)]
        assert v2.guard_holder(GuardKey(ACCOUNT, STRATEGY, SESSION)) == order("s1")
        assert v2.reserve(order("s2"), SESSION, guard=True).outcome is ReservationOutcome.GUARD_HELD


def test_refuses_a_schema_newer_than_the_code(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "new.db"
    SqliteLedger(path, clock).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 'future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(DataError, match="newer"):
        SqliteLedger(path, clock)


def test_concurrent_first_opens_migrate_once(location: str | Path, clock: SimClock) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            open_ledger(location, clock).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert schema_versions(location) == [1, 2]


# -- orders ----------------------------------------------------------------------------------
def test_orders_round_trip_exactly(ledger: SqliteLedger) -> None:
    put_s = OptionContract("QQQ", date(2025, 12, 19), "P", 622)
    put_l = OptionContract("QQQ", date(2025, 12, 19), "P", "619.5")
    spxw = OptionContract("SPX", date(2025, 12, 19), "C", 6000, root="SPXW")
    combo = Order.combo(
        ClientOrderId("rd-combo"),
        ACCOUNT,
        (OrderLeg(put_s, OrderSide.SELL), OrderLeg(put_l, OrderSide.BUY), OrderLeg(spxw, OrderSide.BUY, 2)),
        3,
        Price("4.06"),
        PriceEffect.CREDIT,
        T0,
        strategy=STRATEGY,
    )
    single = order("s1")
    for o in (combo, single):
        assert ledger.reserve(o, SESSION).outcome is ReservationOutcome.RESERVED
        assert ledger.get_order(o.client_order_id) == o
    filled = single.submitted(T0).with_fill(Quantity(4), Price("190.1"), T0 + timedelta(seconds=1))
    assert ledger.record_order(filled)
    assert ledger.get_order(single.client_order_id) == filled


def test_stale_and_repeated_updates_are_ignored(ledger: SqliteLedger) -> None:
    o = order("s1")
    ledger.reserve(o, SESSION)
    accepted = o.submitted(T0).transition(OrderStatus.ACCEPTED, T0)
    partial = accepted.with_fill(Quantity(4), Price("190"), T0 + timedelta(seconds=1))
    done = partial.with_fill(Quantity(6), Price("190"), T0 + timedelta(seconds=2))
    assert ledger.record_order(partial)
    assert not ledger.record_order(accepted)  # late event: backwards
    assert not ledger.record_order(partial)  # repeat
    assert ledger.record_order(done)
    assert not ledger.record_order(partial)
    assert ledger.get_order(o.client_order_id) == done
    history = [e.payload["status"] for e in ledger.events(kind="order.updated")]
    assert history == ["partially_filled", "filled"]


def test_unknown_order_is_adopted(ledger: SqliteLedger) -> None:
    o = order("manual").submitted(T0)
    assert ledger.record_order(o)
    assert ledger.get_order(o.client_order_id) == o
    assert [e.kind for e in ledger.events()] == ["order.adopted"]


def test_orders_filter_by_status(ledger: SqliteLedger) -> None:
    a, b = order("a"), order("b")
    ledger.reserve(a, SESSION)
    ledger.reserve(b, SESSION)
    ledger.record_order(b.submitted(T0))
    assert [o.client_order_id for o in ledger.orders(ACCOUNT, [OrderStatus.PENDING])] == [a.client_order_id]
    assert len(ledger.orders(ACCOUNT)) == 2
    assert ledger.orders(ACCOUNT, []) == []


# -- the guard at the ledger level -----------------------------------------------------------
def test_reserve_guard_blocks_live_trades_and_not_failed_ones(ledger: SqliteLedger) -> None:
    first, second, third = order("s1"), order("s2"), order("s3")
    assert ledger.reserve(first, SESSION, guard=True).outcome is ReservationOutcome.RESERVED
    held = ledger.reserve(second, SESSION, guard=True)
    assert held.outcome is ReservationOutcome.GUARD_HELD
    assert held.order.client_order_id == first.client_order_id
    assert ledger.get_order(second.client_order_id) is None
    ledger.record_order(first.transition(OrderStatus.CANCELLED, T0, "user"))
    assert ledger.reserve(second, SESSION, guard=True).outcome is ReservationOutcome.RESERVED
    assert ledger.reserve(third, SESSION, guard=True).outcome is ReservationOutcome.GUARD_HELD
    # Another strategy or another session is another guard.
    other = order("s1", strategy=StrategyId("other"))
    assert ledger.reserve(other, SESSION, guard=True).outcome is ReservationOutcome.RESERVED
    assert ledger.reserve(third, date(2025, 11, 4), guard=True).outcome is ReservationOutcome.RESERVED


def test_an_exit_of_the_strategy_does_not_use_up_the_days_trade(ledger: SqliteLedger) -> None:
    exit_, entry, again = order("exit"), order("entry"), order("again")
    assert ledger.reserve(exit_, SESSION).outcome is ReservationOutcome.RESERVED  # no guard taken
    ledger.record_order(exit_.submitted(T0))
    assert ledger.reserve(entry, SESSION, guard=True).outcome is ReservationOutcome.RESERVED
    assert ledger.reserve(again, SESSION, guard=True).outcome is ReservationOutcome.GUARD_HELD
    assert ledger.guard_holder(GuardKey(ACCOUNT, STRATEGY, SESSION)) == entry


def test_reserve_is_idempotent_and_rearms_only_not_received(ledger: SqliteLedger) -> None:
    o = order("s1")
    assert ledger.reserve(o, SESSION).outcome is ReservationOutcome.RESERVED
    assert ledger.reserve(o, SESSION).outcome is ReservationOutcome.EXISTS
    ledger.record_order(o.transition(OrderStatus.REJECTED, T0, NOT_RECEIVED_BY_BROKER))
    again = ledger.reserve(o, SESSION, guard=True)
    assert again.outcome is ReservationOutcome.REARMED
    assert again.order.status is OrderStatus.PENDING and again.order.reason == ""
    ledger.record_order(o.submitted(T0).transition(OrderStatus.REJECTED, T0, "venue says no"))
    assert ledger.reserve(o, SESSION).outcome is ReservationOutcome.EXISTS


# -- fills and positions ---------------------------------------------------------------------
def test_recording_a_fill_twice_is_a_no_op(ledger: SqliteLedger) -> None:
    f = fill(1, OrderSide.BUY, "10", "190")
    assert ledger.record_fill(f)
    assert not ledger.record_fill(f)
    assert ledger.fills(ACCOUNT) == [f]
    [pos] = ledger.positions(ACCOUNT)
    assert pos.net == 10 and pos.avg_price == Price("190")
    assert len(ledger.events(kind="fill")) == 1


@pytest.mark.parametrize("seed", range(12))
def test_positions_equal_the_fold_of_fills(location: str | Path, clock: SimClock, seed: int) -> None:
    rng = random.Random(seed)
    instruments: list[Instrument] = [
        AAPL,
        Equity("MSFT"),
        OptionContract("QQQ", date(2025, 12, 19), "P", 622),
    ]
    fills = [
        Fill(
            FillId(f"F{seed}-{i}"),
            ClientOrderId("rd-x"),
            ACCOUNT,
            rng.choice(instruments),
            rng.choice(list(OrderSide)),
            Quantity(rng.randint(1, 30)),
            Price(Decimal(rng.randint(100, 30000)) / 100),
            T0 + timedelta(seconds=i),
            Money(Decimal(rng.randint(0, 100)) / 100),
        )
        for i in range(40)
    ]
    with open_ledger(location, clock) as led:
        for f in fills + rng.sample(fills, 10):  # replays are no-ops
            led.record_fill(f)
        expected: dict[str, Position] = {}
        for f in fills:
            key = str(f.instrument.id)
            expected[key] = expected.get(key, Position.flat(ACCOUNT, f.instrument)).apply(f)
        assert {str(p.instrument.id): p for p in led.positions(ACCOUNT)} == expected


# -- balances, denials, discrepancies, snapshots, events -------------------------------------
def test_balance_round_trip(ledger: SqliteLedger) -> None:
    assert ledger.balance(ACCOUNT) is None
    bal = AccountBalance(ACCOUNT, Money("1000.5"), Money("2001"), Money("1000.5"), T0)
    ledger.record_balance(bal)
    ledger.record_balance(bal)
    assert ledger.balance(ACCOUNT) == bal


def test_discrepancy_lifecycle(ledger: SqliteLedger, clock: SimClock) -> None:
    d = ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "10", "12", "ledger short of 2")
    assert d is not None and d.is_open
    assert ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "10", "12") is None
    assert ledger.has_open_discrepancies(ACCOUNT)
    clock.advance(timedelta(minutes=1))
    assert ledger.acknowledge_discrepancies(ACCOUNT, "ops@desk") == 1
    assert not ledger.has_open_discrepancies(ACCOUNT)
    [acked] = ledger.discrepancies(ACCOUNT)
    assert acked.acknowledged_by == "ops@desk" and acked.acknowledged_at == T0 + timedelta(minutes=1)
    assert ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "10", "12") is None  # same: stays acked
    changed = ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "10", "15")
    assert changed is not None and ledger.has_open_discrepancies(ACCOUNT)
    assert ledger.settle_discrepancies(ACCOUNT, still_differing={"AAPL"}) == 0
    assert ledger.settle_discrepancies(ACCOUNT, still_differing=set()) == 1
    assert not ledger.has_open_discrepancies(ACCOUNT)
    assert ledger.discrepancies(ACCOUNT, open_only=True) == []


def test_snapshots_and_denials(ledger: SqliteLedger) -> None:
    from core.ports.ledger import Denial

    ledger.record_snapshot(ACCOUNT, SnapshotKind.ENTRY, T0, {"equity": "1000", "positions": []})
    ledger.record_snapshot(ACCOUNT, SnapshotKind.EXIT, T0 + timedelta(hours=6), {"equity": "1010"})
    assert [s.kind for s in ledger.snapshots(ACCOUNT)] == [SnapshotKind.ENTRY, SnapshotKind.EXIT]
    [exit_] = ledger.snapshots(ACCOUNT, SnapshotKind.EXIT)
    assert exit_.payload == {"equity": "1010"}
    denial = Denial(ACCOUNT, ClientOrderId("rd-1"), STRATEGY, "max_risk_per_trade", "too big", T0)
    ledger.record_denial(denial)
    assert ledger.denials(ACCOUNT) == [denial]


def test_events_have_consecutive_sequence_numbers(ledger: SqliteLedger) -> None:
    for i in range(5):
        assert ledger.append_event("note", {"i": i}, ACCOUNT if i % 2 else None) == i + 1
    ledger.record_fill(fill(1, OrderSide.BUY, "1", "1"))
    events = ledger.events()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in ledger.events(after_seq=4)] == [5, 6]
    assert [e.payload["i"] for e in ledger.events(account_id=ACCOUNT, kind="note")] == [1, 3]
    assert ledger.events(limit=2)[-1].seq == 2
    latest = ledger.latest_event(ACCOUNT, "note")
    assert latest is not None and latest.payload == {"i": 3} and latest.ts == T0


# -- batches ---------------------------------------------------------------------------------
def test_a_batch_is_one_commit_seen_by_others_only_when_it_ends(
    ledger: SqliteLedger, location: str | Path
) -> None:
    other = open_ledger(location)
    try:
        with ledger.batch():
            assert ledger.reserve(order("a"), SESSION).outcome is ReservationOutcome.RESERVED
            ledger.record_fill(fill(1, OrderSide.BUY, "10", "190"))
            ledger.append_event("test.note", {"n": 1}, ACCOUNT)
            # The batch's own reads see its writes; another connection sees none of them yet.
            assert ledger.get_order(order("a").client_order_id) is not None
            assert other.get_order(order("a").client_order_id) is None
            assert other.fills(ACCOUNT) == []
        assert other.get_order(order("a").client_order_id) is not None
        assert [f.fill_id for f in other.fills(ACCOUNT)] == [FillId("F1")]
        assert other.latest_event(ACCOUNT, "test.note") is not None
    finally:
        other.close()


def test_a_batch_that_raises_records_nothing(ledger: SqliteLedger) -> None:
    with pytest.raises(RuntimeError), ledger.batch():
        ledger.reserve(order("a"), SESSION)
        ledger.record_fill(fill(1, OrderSide.BUY, "10", "190"))
        raise RuntimeError("crash before the commit")
    assert ledger.get_order(order("a").client_order_id) is None
    assert ledger.fills(ACCOUNT) == []
    assert ledger.positions(ACCOUNT) == []
    ledger.reserve(order("a"), SESSION)  # the ledger is usable after the rollback
    assert ledger.get_order(order("a").client_order_id) is not None


def test_a_write_that_fails_inside_a_batch_is_undone_alone(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db", 5.0)
    conn.execute("CREATE TABLE t (x INTEGER)")
    transactions = Transactions(conn, threading.RLock())
    with transactions.transaction():
        with transactions.transaction() as c:
            c.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), transactions.transaction() as c:
            c.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("half-way through a write")
        with transactions.transaction() as c:
            c.execute("INSERT INTO t VALUES (3)")
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    conn.close()
