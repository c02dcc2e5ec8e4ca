"""ExecutionService against the real simulated exchange and a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.ledger import SqliteLedger
from core.clock import SimClock
from core.errors import BrokerUnavailable, OrderRejected, StaleData
from core.execution import ExecutionOutcome, ExecutionService, RetryPolicy
from core.model import (
    AccountId,
    Equity,
    Money,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    Price,
    Quantity,
    Quote,
    StrategyId,
    Suggestion,
)
from core.risk import RiskContext, RiskEngine, RiskLimits

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
ACCOUNT = AccountId("acct-1")
STRATEGY = StrategyId("trident")
SESSION = date(2025, 11, 3)
AAPL = Equity("AAPL")
LIMITS = RiskLimits(
    max_risk_per_trade=Money(50_000),
    max_open_positions=10,
    max_exposure_per_symbol=Money(500_000),
    daily_loss_limit=Money(5_000),
)


class FaultyExecution:
    """The real simulated-exchange client behind a fault plan for ``submit``.

    Each planned exception is raised (before the venue sees the order) by one submit call, in
    order; ``on_submit`` runs first on every call, to observe the ledger at submission time.
    """

    def __init__(self, inner: SimExecutionClient, plan: list[Exception] | None = None) -> None:
        self.inner = inner
        self.plan = list(plan or [])
        self.calls = 0
        self.on_submit: Callable[[Order], None] | None = None

    def submit(self, order: Order) -> Order:
        self.calls += 1
        if self.on_submit is not None:
            self.on_submit(order)
        if self.plan:
            raise self.plan.pop(0)
        return self.inner.submit(order)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Desk:
    """One account wired end to end: clock, venue, client, ledger, service."""

    clock: SimClock
    exchange: SimExchange
    client: FaultyExecution
    ledger: SqliteLedger
    service: ExecutionService
    sleeps: list[float] = field(default_factory=list)

    def quote(self, bid: str, ask: str, instrument: Equity = AAPL) -> Quote:
        q = Quote(instrument.id, Price(bid), Price(ask), self.clock.now())
        self.exchange.on_quote(q)
        return q

    def ctx(self, halted: bool = False) -> RiskContext:
        quotes = {iid: q for iid in [AAPL.id] if (q := self.exchange.last_quote(iid)) is not None}
        return RiskContext(
            now=self.clock.now(),
            market_open=True,
            balance=self.client.balance(),
            positions={p.instrument.id: p for p in self.ledger.positions(ACCOUNT)},
            open_orders=self.ledger.orders(ACCOUNT, [s for s in OrderStatus if s.is_open]),
            daily_pnl=Money(0),
            quotes=quotes,
            halted=halted,
        )

    def execute(self, signal: str, once_per_day: bool = False, halted: bool = False, qty: int = 10) -> Any:
        return self.service.execute(suggestion(signal, once_per_day, qty), self.ctx(halted))

    def venue_orders(self) -> list[Order]:
        orders: list[Order] = self.client.orders_since(T0 - timedelta(days=1))
        return orders


def suggestion(signal: str, once_per_day: bool = False, qty: int = 10) -> Suggestion:
    return Suggestion(
        ACCOUNT,
        STRATEGY,
        SESSION,
        signal,
        (OrderLeg(AAPL, OrderSide.BUY),),
        Quantity(qty),
        T0,
        max_risk=Money(2_000),
        once_per_day=once_per_day,
    )


def make_desk(tmp_path: Path, plan: list[Exception] | None = None, retry: RetryPolicy | None = None) -> Desk:
    clock = SimClock(T0)
    exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock)
    exchange.open_account(ACCOUNT, Money(1_000_000))
    client = FaultyExecution(SimExecutionClient(exchange, ACCOUNT), plan)
    ledger = SqliteLedger(tmp_path / "ledger.db", clock)
    sleeps: list[float] = []
    service = ExecutionService(
        ACCOUNT,
        client,
        ledger,
        RiskEngine(LIMITS),
        clock,
        offset_cents=4,
        retry=retry or RetryPolicy(),
        sleep=sleeps.append,
    )
    desk = Desk(clock, exchange, client, ledger, service, sleeps)
    desk.quote("190.00", "190.10")
    return desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = make_desk(tmp_path)
    yield d
    d.ledger.close()


# -- the happy path and write-ahead ----------------------------------------------------------
def test_submits_at_mid_plus_offset_and_records_the_ack(desk: Desk) -> None:
    seen: list[OrderStatus | None] = []
    desk.client.on_submit = lambda o: seen.append(
        r.status if (r := desk.ledger.get_order(o.client_order_id)) else None
    )
    result = desk.execute("s1")
    assert result.outcome is ExecutionOutcome.SUBMITTED and result.attempts == 1
    assert seen == [OrderStatus.PENDING]  # write-ahead: recorded before it was sent
    assert result.order is not None and result.order.limit_price == Price(
        "190.09"
    )  # mid 190.05 + 4c, under the ask
    assert desk.ledger.get_order(result.order.client_order_id) == result.order
    assert result.order.status is OrderStatus.ACCEPTED and result.order.broker_order_id is not None
    kinds = [e.kind for e in desk.ledger.events(account_id=ACCOUNT)]
    assert kinds == ["order.reserved", "order.updated"]


def test_process_events_records_fills_and_positions_once(desk: Desk) -> None:
    desk.execute("s1")
    desk.clock.advance(timedelta(seconds=1))
    desk.quote("189.95", "190.02")  # the ask crosses the 190.09 limit
    processed = desk.service.process_events()
    assert processed.fills == 1 and processed.orders == 1
    [pos] = desk.ledger.positions(ACCOUNT)
    assert pos.net == 10 and pos.avg_price == Price("190.02")
    assert desk.service.process_events().fills == 0
    [order] = desk.ledger.orders(ACCOUNT)
    assert order.status is OrderStatus.FILLED


def test_same_signal_twice_is_one_order(desk: Desk) -> None:
    first = desk.execute("s1")
    second = desk.execute("s1")
    assert second.outcome is ExecutionOutcome.DUPLICATE
    assert second.order == first.order
    assert len(desk.venue_orders()) == 1


# -- risk ------------------------------------------------------------------------------------
def test_risk_denial_is_recorded_with_rule_and_reason(desk: Desk) -> None:
    result = desk.execute("s1", halted=True)
    assert result.outcome is ExecutionOutcome.DENIED
    assert "kill_switch" in result.reason
    [denial] = desk.ledger.denials(ACCOUNT)
    assert denial.rule == "kill_switch" and "halted" in denial.reason
    assert denial.client_order_id == suggestion("s1").client_order_id
    assert desk.ledger.orders(ACCOUNT) == [] and desk.venue_orders() == []


# -- retries ---------------------------------------------------------------------------------
def test_temporary_errors_are_retried_three_times_five_seconds_apart(desk: Desk) -> None:
    desk.exchange.faults.disconnect()
    desk.client.on_submit = None
    result = desk.service.execute(suggestion("s1"), _ctx_connected(desk))
    assert result.outcome is ExecutionOutcome.FAILED
    assert result.attempts == 3 and desk.sleeps == [5.0, 5.0]
    assert "left pending" in result.reason
    # The broker may hold it: the order stays PENDING for the Reconciler to settle.
    assert result.order is not None
    assert desk.ledger.get_order(result.order.client_order_id).status is OrderStatus.PENDING  # type: ignore[union-attr]
    assert [e.kind for e in desk.ledger.events(kind="execution.unconfirmed")] == ["execution.unconfirmed"]


def _ctx_connected(desk: Desk) -> RiskContext:
    desk.exchange.faults.reconnect()
    ctx = desk.ctx()
    desk.exchange.faults.disconnect()
    return ctx


def test_retry_policy_is_configurable(tmp_path: Path) -> None:
    d = make_desk(tmp_path, plan=[StaleData("x")] * 10, retry=RetryPolicy(attempts=5, wait_seconds=0.5))
    result = d.execute("s1")
    assert result.outcome is ExecutionOutcome.FAILED and result.attempts == 5
    assert d.sleeps == [0.5] * 4


def test_success_after_temporary_errors(tmp_path: Path) -> None:
    d = make_desk(tmp_path, plan=[BrokerUnavailable("timeout"), BrokerUnavailable("timeout")])
    result = d.execute("s1")
    assert result.outcome is ExecutionOutcome.SUBMITTED and result.attempts == 3
    assert d.sleeps == [5.0, 5.0]
    assert len(d.venue_orders()) == 1


def test_dropped_ack_is_resubmitted_with_the_same_client_id(desk: Desk) -> None:
    desk.exchange.faults.drop_next_acks = 1
    sent: list[str] = []
    desk.client.on_submit = lambda o: sent.append(str(o.client_order_id))
    result = desk.execute("s1")
    assert result.outcome is ExecutionOutcome.SUBMITTED and result.attempts == 2
    assert len(set(sent)) == 1 and len(sent) == 2
    assert len(desk.venue_orders()) == 1  # the lost ack did not double the order


def test_permanent_error_is_not_retried(tmp_path: Path) -> None:
    d = make_desk(tmp_path, plan=[OrderRejected("account restricted")])
    result = d.execute("s1")
    assert result.outcome is ExecutionOutcome.FAILED and result.attempts == 1
    assert d.sleeps == [] and d.client.calls == 1
    assert result.order is not None and result.order.status is OrderStatus.REJECTED
    assert d.ledger.get_order(result.order.client_order_id).reason == "account restricted"  # type: ignore[union-attr]
    assert d.venue_orders() == []


def test_venue_rejection_is_recorded_as_failed(desk: Desk) -> None:
    desk.exchange.faults.reject_next = 1
    result = desk.execute("s1")
    assert result.outcome is ExecutionOutcome.FAILED and result.attempts == 1
    assert result.order is not None and result.order.status is OrderStatus.REJECTED


# -- the once-per-day guard ------------------------------------------------------------------
def test_guard_skips_a_second_trade_of_the_day(desk: Desk) -> None:
    first = desk.execute("s1", once_per_day=True)
    assert first.outcome is ExecutionOutcome.SUBMITTED
    second = desk.execute("s2", once_per_day=True)
    assert second.outcome is ExecutionOutcome.SKIPPED_GUARD
    assert second.order is not None and second.order.client_order_id == first.order.client_order_id
    assert len(desk.venue_orders()) == 1
    assert desk.execute("s3").outcome is ExecutionOutcome.SUBMITTED  # unguarded suggestions pass


def _cancel(desk: Desk, order: Order) -> None:
    desk.client.cancel(order.client_order_id)


def _expire(desk: Desk, order: Order) -> None:
    desk.exchange.expire_day_orders(desk.clock.now())


def _fill(desk: Desk, order: Order) -> None:
    desk.quote("189.90", "190.05")


def _partial(desk: Desk, order: Order) -> None:
    desk.exchange.on_quote(Quote(AAPL.id, Price("189.90"), Price("190.05"), desk.clock.now(), ask_size=4))


@pytest.mark.parametrize(
    ("end", "blocks"),
    [(_cancel, False), (_expire, False), (_fill, True), (_partial, True)],
    ids=["cancelled", "expired", "filled", "partially_filled"],
)
def test_guard_after_the_first_trade_ends(
    desk: Desk, end: Callable[[Desk, Order], None], blocks: bool
) -> None:
    first = desk.execute("s1", once_per_day=True)
    assert first.order is not None
    desk.clock.advance(timedelta(minutes=15))
    desk.quote("190.00", "190.10")
    end(desk, first.order)
    desk.service.process_events()
    second = desk.execute("s2", once_per_day=True)
    expected = ExecutionOutcome.SKIPPED_GUARD if blocks else ExecutionOutcome.SUBMITTED
    assert second.outcome is expected, second.reason


def test_rejected_trade_does_not_hold_the_guard(desk: Desk) -> None:
    desk.exchange.faults.reject_next = 1
    assert desk.execute("s1", once_per_day=True).outcome is ExecutionOutcome.FAILED
    assert desk.execute("s2", once_per_day=True).outcome is ExecutionOutcome.SUBMITTED


def test_pending_unconfirmed_order_holds_the_guard(tmp_path: Path) -> None:
    d = make_desk(tmp_path, plan=[BrokerUnavailable("down")] * 3)
    assert d.execute("s1", once_per_day=True).outcome is ExecutionOutcome.FAILED
    assert d.execute("s2", once_per_day=True).outcome is ExecutionOutcome.SKIPPED_GUARD


# -- reconciliation block --------------------------------------------------------------------
def test_unacknowledged_discrepancy_blocks_until_acknowledged(desk: Desk) -> None:
    desk.ledger.record_discrepancy(ACCOUNT, "position", "AAPL", "0", "5")
    blocked = desk.execute("s1")
    assert blocked.outcome is ExecutionOutcome.BLOCKED_UNRECONCILED
    assert desk.venue_orders() == [] and desk.ledger.orders(ACCOUNT) == []
    desk.ledger.acknowledge_discrepancies(ACCOUNT, "ops")
    assert desk.execute("s1").outcome is ExecutionOutcome.SUBMITTED


def test_unpriceable_suggestion_fails_without_an_order(desk: Desk) -> None:
    ctx = desk.ctx()
    no_quotes = RiskContext(
        ctx.now, ctx.market_open, ctx.balance, ctx.positions, ctx.open_orders, ctx.daily_pnl
    )
    # No rules: the risk engine would refuse a suggestion without quotes before pricing could.
    service = ExecutionService(ACCOUNT, desk.client, desk.ledger, RiskEngine(LIMITS, rules=()), desk.clock, 4)
    result = service.execute(suggestion("s1"), no_quotes)
    assert result.outcome is ExecutionOutcome.FAILED and "no mid" in result.reason
    assert desk.ledger.orders(ACCOUNT) == [] and desk.venue_orders() == []
    assert [e.kind for e in desk.ledger.events()] == ["execution.unpriced"]
