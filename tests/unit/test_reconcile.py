"""Reconciler: start-up and crash recovery against the real simulated exchange and ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.execution import ExecutionOutcome, Reconciler
from core.model import ClientOrderId, Fill, FillId, Money, Order, OrderStatus, Price, Quantity
from core.ports.ledger import NOT_RECEIVED_BY_BROKER, GuardKey
from tests.unit.test_execution_service import (
    AAPL,
    ACCOUNT,
    SESSION,
    STRATEGY,
    T0,
    Desk,
    make_desk,
    suggestion,
)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = make_desk(tmp_path)
    yield d
    d.ledger.close()


def reconciler(desk: Desk) -> Reconciler:
    return Reconciler(ACCOUNT, desk.client, desk.ledger, desk.clock)


def lose_events(desk: Desk) -> None:
    """What a crash does to events the broker sent but the process never recorded."""
    desk.client.poll_events()


def order_for(desk: Desk, signal: str) -> Order:
    return desk.service.build_order(suggestion(signal), desk.ctx())


def test_adopts_a_fill_the_ledger_missed(desk: Desk) -> None:
    result = desk.execute("s1")
    desk.clock.advance(timedelta(seconds=1))
    desk.quote("189.95", "190.02")
    lose_events(desk)
    assert desk.ledger.positions(ACCOUNT) == []
    done = reconciler(desk).reconcile()
    assert done.fills_recorded == 1 and done.orders_updated == 1 and not done.blocked
    assert desk.ledger.get_order(result.order.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert [p.net for p in desk.ledger.positions(ACCOUNT)] == [10]
    assert [f.fill_id for f in desk.ledger.fills(ACCOUNT)] == [
        f.fill_id for f in desk.client.fills_since(T0 - timedelta(days=1))
    ]
    again = reconciler(desk).reconcile()  # idempotent
    assert (again.fills_recorded, again.orders_updated, again.orders_adopted) == (0, 0, ())


def test_adopts_an_order_accepted_but_never_recorded(desk: Desk) -> None:
    order = order_for(desk, "s1")
    desk.client.inner.submit(order)  # the venue has it; the ledger has no trace (e.g. manual)
    lose_events(desk)
    done = reconciler(desk).reconcile()
    assert done.orders_adopted == (order.client_order_id,)
    assert desk.ledger.get_order(order.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]


def test_pending_order_whose_ack_was_lost_takes_the_broker_state(desk: Desk) -> None:
    order = order_for(desk, "s1")
    desk.ledger.reserve(order, SESSION)  # write-ahead done, then the process died after sending
    desk.client.inner.submit(order)
    lose_events(desk)
    done = reconciler(desk).reconcile()
    assert done.orders_updated == 1 and done.not_received == ()
    assert desk.ledger.get_order(order.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]


def test_pending_order_the_broker_never_received_is_rejected_then_rearmed(desk: Desk) -> None:
    s = suggestion("s1", once_per_day=True)
    order = desk.service.build_order(s, desk.ctx())
    desk.ledger.reserve(order, SESSION, guard=True)  # the process died before sending it
    assert desk.ledger.guard_holder(GuardKey(ACCOUNT, STRATEGY, SESSION)) is not None
    done = reconciler(desk).reconcile()
    assert done.not_received == (order.client_order_id,)
    recorded = desk.ledger.get_order(order.client_order_id)
    assert recorded is not None and recorded.status is OrderStatus.REJECTED
    assert recorded.reason == NOT_RECEIVED_BY_BROKER
    assert desk.ledger.guard_holder(GuardKey(ACCOUNT, STRATEGY, SESSION)) is None
    # The same signal later derives the same client id: re-armed and sent, exactly once.
    rerun = desk.service.execute(s, desk.ctx())
    assert rerun.outcome is ExecutionOutcome.SUBMITTED
    assert len(desk.venue_orders()) == 1
    assert [e.payload["detail"] for e in desk.ledger.events(kind="order.rearmed")] == ["rearmed"]


def test_position_discrepancy_blocks_until_acknowledged(desk: Desk) -> None:
    phantom = Fill(
        FillId("not-at-broker"),
        ClientOrderId("rd-phantom"),
        ACCOUNT,
        AAPL,
        suggestion("x").side,
        Quantity(7),
        Price("190"),
        T0,
        Money(0),
    )
    desk.ledger.record_fill(phantom)
    first = reconciler(desk).reconcile()
    assert first.blocked
    [d] = first.discrepancies
    assert (d.subject, d.ledger_value, d.broker_value) == ("AAPL", "7", "0")
    assert desk.execute("s1").outcome is ExecutionOutcome.BLOCKED_UNRECONCILED
    assert reconciler(desk).reconcile().discrepancies == ()  # the same difference is not repeated
    assert desk.ledger.acknowledge_discrepancies(ACCOUNT, "ops@desk") == 1
    assert not reconciler(desk).reconcile().blocked  # acknowledged, still the same: stays open to trade
    assert desk.execute("s1").outcome is ExecutionOutcome.SUBMITTED


def test_discrepancy_resolves_itself_when_positions_agree_again(desk: Desk) -> None:
    desk.execute("s1")
    desk.clock.advance(timedelta(seconds=1))
    desk.quote("189.95", "190.02")
    lose_events(desk)
    # Compare before adopting fills (a report with fills hidden): the ledger is 10 short.
    desk.ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "0", "10")
    assert desk.ledger.has_open_discrepancies(ACCOUNT)
    done = reconciler(desk).reconcile()  # adopts the fill; positions now agree
    assert not done.blocked and done.discrepancies == ()
    [d] = desk.ledger.discrepancies(ACCOUNT)
    assert d.resolved_at is not None


def test_since_covers_the_last_reconciliation_and_open_orders(desk: Desk) -> None:
    rec = Reconciler(ACCOUNT, desk.client, desk.ledger, desk.clock, lookback=timedelta(hours=1))
    assert rec.default_since() == T0 - timedelta(hours=1)
    rec.reconcile()
    desk.clock.advance(timedelta(hours=5))
    assert rec.default_since() == T0  # the last report, older than the lookback
    desk.clock.advance(timedelta(minutes=1))
    desk.quote("190.00", "190.10")
    desk.execute("s1")
    rec.reconcile()
    desk.clock.advance(timedelta(days=3))
    assert rec.default_since() == T0 + timedelta(hours=5, minutes=1)  # the open order
