"""``ExecutionService``: a suggestion becomes at most one order, recorded before it is sent.

``execute`` runs, in order:

1. refuse while the account has an unacknowledged reconciliation discrepancy;
2. return the recorded order if this signal already has one (its ``ClientOrderId``);
3. skip when the once-per-day guard is held (a cheap read; step 6 decides atomically);
4. the risk check: a denial is recorded in the ledger with its rule and reason;
5. the entry limit (offset from mid, bounded by the natural price);
6. write-ahead: the PENDING order and, with ``once_per_day``, the guard, in one transaction;
7. submit, retrying temporary errors only; every attempt reuses the ``ClientOrderId``, so a
   lost acknowledgement never doubles the order;
8. record the broker's answer.

A submission whose every attempt failed temporarily leaves the order PENDING: the broker may
hold it. The order keeps the guard until the ``Reconciler`` finds out (adopts it, or rejects it
as not received by the broker).

``execute`` is ``prepare`` (steps 1-6) then ``submit`` (7-8). A caller with several suggestions
from one event prepares them all inside one ``Ledger.batch()``, so their write-ahead records
cost one commit, then sends each (``send``) and records the answers together (``record``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from core.clock import Clock
from core.errors import InvalidValue, PermanentError, TemporaryError
from core.execution.pricing import entry_limit
from core.messages import ExecutionEvent, OrderFilled
from core.model import Order, OrderStatus, OrderType, Suggestion
from core.model.identifiers import AccountId
from core.ports.execution import Execution
from core.ports.ledger import NOT_RECEIVED_BY_BROKER, Denial, GuardKey, Ledger, ReservationOutcome
from core.risk import RiskContext, RiskEngine


class ExecutionOutcome(StrEnum):
    SUBMITTED = "submitted"
    DENIED = "denied"
    SKIPPED_GUARD = "skipped_guard"
    BLOCKED_UNRECONCILED = "blocked_unreconciled"
    DUPLICATE = "duplicate"
    """The signal already has an order (a rerun after a crash): nothing was sent."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What ``execute`` did. ``order`` is the order sent, found, or holding the guard."""

    outcome: ExecutionOutcome
    order: Order | None = None
    reason: str = ""
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how far apart a submission is tried on temporary errors."""

    attempts: int = 3
    wait_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidValue(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        if self.wait_seconds < 0:
            raise InvalidValue(f"RetryPolicy.wait_seconds must not be negative, got {self.wait_seconds}")


@dataclass(frozen=True, slots=True)
class ProcessedEvents:
    """What ``process_events`` recorded: changed orders, new fills, and repeats ignored."""

    orders: int = 0
    fills: int = 0
    ignored: int = 0


class ExecutionService:
    """Turns approved suggestions of one account into orders at its broker, via the ledger."""

    def __init__(
        self,
        account_id: AccountId,
        execution: Execution,
        ledger: Ledger,
        risk: RiskEngine,
        clock: Clock,
        offset_cents: int,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if offset_cents < 0:
            raise InvalidValue(f"offset_cents must not be negative, got {offset_cents}")
        self.account_id = account_id
        self._execution = execution
        self._ledger = ledger
        self._risk = risk
        self._clock = clock
        self.offset_cents = offset_cents
        self.retry = retry
        self._sleep = sleep or self._clock_sleep

    def _clock_sleep(self, seconds: float) -> None:
        self._clock.sleep_until(self._clock.now() + timedelta(seconds=seconds))

    # -- execute ---------------------------------------------------------------------------
    def execute(self, suggestion: Suggestion, ctx: RiskContext) -> ExecutionResult:
        """Check, record and submit ``suggestion``; see the module docstring for the steps."""
        prepared = self.prepare(suggestion, ctx)
        return prepared if isinstance(prepared, ExecutionResult) else self.submit(prepared)

    def prepare(self, suggestion: Suggestion, ctx: RiskContext) -> Order | ExecutionResult:
        """Steps 1-6: the order written ahead (PENDING), or the result that ends it here."""
        if suggestion.account_id != self.account_id:
            raise InvalidValue(f"suggestion for {suggestion.account_id} given to {self.account_id}")
        if self._ledger.has_open_discrepancies(self.account_id):
            return ExecutionResult(
                ExecutionOutcome.BLOCKED_UNRECONCILED,
                reason="unacknowledged reconciliation discrepancy: trading refused until resolved",
            )
        known = self._ledger.get_order(suggestion.client_order_id)
        if known is not None and not _rearmable(known):
            return ExecutionResult(ExecutionOutcome.DUPLICATE, known, "signal already has an order")
        key = GuardKey(self.account_id, suggestion.strategy, suggestion.session)
        if suggestion.once_per_day:
            holder = self._ledger.guard_holder(key)
            if holder is not None and holder.client_order_id != suggestion.client_order_id:
                return _guard_held(holder)
        decision = self._risk.check(suggestion, ctx)
        if not decision.approved:
            self._ledger.record_denial(
                Denial(
                    self.account_id,
                    suggestion.client_order_id,
                    suggestion.strategy,
                    decision.rule,
                    decision.reason,
                    self._clock.now(),
                )
            )
            return ExecutionResult(ExecutionOutcome.DENIED, reason=str(decision))
        try:
            order = self.build_order(suggestion, ctx)
        except InvalidValue as exc:
            self._ledger.append_event(
                "execution.unpriced",
                {"client_order_id": str(suggestion.client_order_id), "reason": str(exc)},
                self.account_id,
            )
            return ExecutionResult(ExecutionOutcome.FAILED, reason=str(exc))
        reservation = self._ledger.reserve(order, suggestion.session, guard=suggestion.once_per_day)
        if reservation.outcome is ReservationOutcome.GUARD_HELD:
            return _guard_held(reservation.order)
        if reservation.outcome is ReservationOutcome.EXISTS:
            return ExecutionResult(
                ExecutionOutcome.DUPLICATE, reservation.order, "signal already has an order"
            )
        return reservation.order

    def build_order(self, suggestion: Suggestion, ctx: RiskContext) -> Order:
        """The limit order for ``suggestion`` at its entry price (raises ``InvalidValue``)."""
        limit = entry_limit(suggestion, self.offset_cents, ctx.quotes)
        now = self._clock.now()
        if suggestion.is_multi_leg:
            assert suggestion.price_effect is not None  # Suggestion enforces it for multi-leg
            return Order.combo(
                suggestion.client_order_id,
                self.account_id,
                suggestion.legs,
                suggestion.quantity,
                limit,
                suggestion.price_effect,
                now,
                strategy=suggestion.strategy,
            )
        return Order.single(
            suggestion.client_order_id,
            self.account_id,
            suggestion.instrument,
            suggestion.side,
            suggestion.quantity,
            now,
            order_type=OrderType.LIMIT,
            limit_price=limit,
            strategy=suggestion.strategy,
        )

    def submit(self, order: Order) -> ExecutionResult:
        """Steps 7-8 for an order ``prepare`` wrote ahead."""
        return self.record(self.send(order))

    def send(self, order: Order) -> Sent:
        """Step 7: submit a prepared order (retrying temporary errors); nothing recorded yet."""
        return send_order(order, self._execution, self.retry, self._sleep)

    def record(self, sent: Sent) -> ExecutionResult:
        """Step 8: record what the broker answered to ``send``."""
        return record_sent(sent, self._ledger, self._clock, f"submitted at {sent.order.limit_price}")

    # -- events ----------------------------------------------------------------------------
    def process_events(self) -> ProcessedEvents:
        """Drain the broker's order and fill events into the ledger (idempotent per event).

        The broker is polled first, so no ledger lock is held while it answers; the events are
        then recorded in one ledger transaction.
        """
        counts: Counter[str] = Counter()
        events = self._execution.poll_events()
        with self._ledger.batch():
            for event in events:
                counts[self._record_event(event)] += 1
        return ProcessedEvents(counts["order"], counts["fill"], counts["ignored"])

    def _record_event(self, event: ExecutionEvent) -> str:
        if isinstance(event, OrderFilled):
            return "fill" if self._ledger.record_fill(event.fill) else "ignored"
        return "order" if self._ledger.record_order(event.order) else "ignored"


def _rearmable(order: Order) -> bool:
    return order.status is OrderStatus.REJECTED and order.reason == NOT_RECEIVED_BY_BROKER


def _guard_held(holder: Order) -> ExecutionResult:
    return ExecutionResult(
        ExecutionOutcome.SKIPPED_GUARD,
        holder,
        f"once-per-day guard held by {holder.client_order_id} ({holder.status})",
    )


@dataclass(frozen=True, slots=True)
class Sent:
    """What the broker answered to one submission: its acknowledgement, or the error that ended it."""

    order: Order
    ack: Order | None
    error: TemporaryError | PermanentError | None
    attempts: int

    @property
    def accepted(self) -> bool:
        """The broker took the order (the submission is done)."""
        return self.ack is not None and self.ack.status is not OrderStatus.REJECTED


def send_order(
    order: Order, execution: Execution, retry: RetryPolicy, sleep: Callable[[float], None]
) -> Sent:
    """Submit ``order`` (already written ahead), retrying temporary errors only.

    ``retry.attempts`` tries, ``retry.wait_seconds`` apart, the same ``ClientOrderId`` every
    time, so a dropped acknowledgement never doubles the order.
    """
    attempts = 0

    def attempt() -> Order:
        nonlocal attempts
        attempts += 1
        return execution.submit(order)

    retrying = Retrying(
        stop=stop_after_attempt(retry.attempts),
        wait=wait_fixed(retry.wait_seconds),
        retry=retry_if_exception_type(TemporaryError),
        sleep=sleep,
        reraise=True,
    )
    try:
        return Sent(order, retrying(attempt), None, attempts)
    except (TemporaryError, PermanentError) as exc:
        return Sent(order, None, exc, attempts)


def record_sent(sent: Sent, ledger: Ledger, clock: Clock, detail: str) -> ExecutionResult:
    """Record the outcome of ``send_order`` and say what it was.

    When every attempt failed temporarily the order stays pending for the reconciler; a
    permanent error rejects it. ``detail`` is the reason of a successful submission.
    """
    order, attempts = sent.order, sent.attempts
    if isinstance(sent.error, TemporaryError):
        exc = sent.error
        reason = f"broker unavailable after {attempts} attempts: {exc}; order left pending for reconciliation"
        ledger.append_event(
            "execution.unconfirmed",
            {"client_order_id": str(order.client_order_id), "attempts": attempts, "reason": str(exc)},
            order.account_id,
        )
        return ExecutionResult(ExecutionOutcome.FAILED, order, reason, attempts)
    if sent.error is not None or sent.ack is None:
        rejected = order.transition(OrderStatus.REJECTED, clock.now(), reason=str(sent.error))
        ledger.record_order(rejected)
        return ExecutionResult(ExecutionOutcome.FAILED, rejected, f"rejected: {sent.error}", attempts)
    ack = sent.ack
    if ack.status is OrderStatus.PENDING:
        ack = ack.submitted(clock.now(), ack.broker_order_id)
    ledger.record_order(ack)
    recorded = ledger.get_order(order.client_order_id) or ack
    if recorded.status is OrderStatus.REJECTED:
        return ExecutionResult(ExecutionOutcome.FAILED, recorded, f"rejected: {recorded.reason}", attempts)
    return ExecutionResult(ExecutionOutcome.SUBMITTED, recorded, detail, attempts)


def submit_recorded(
    order: Order,
    execution: Execution,
    ledger: Ledger,
    clock: Clock,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    detail: str,
) -> ExecutionResult:
    """Submit an order already reserved (write-ahead) in ``ledger`` and record what came back."""
    return record_sent(send_order(order, execution, retry, sleep), ledger, clock, detail)
