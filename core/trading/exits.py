"""Exits as market orders, recorded before they are sent; cancelling working orders.

Exits (a strategy's exit signal, a stop or target hit, the end-of-day flatten, an override) are
never blocked by risk limits: a position can always be closed. They follow the entry path's
write-ahead discipline: the order is reserved PENDING in the ledger under a ``ClientOrderId``
derived from (account, strategy, session, signal), then submitted with retries on temporary
errors only, so a crash or a repeated call never sends a second order for the same signal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.clock import Clock
from core.errors import RaydeskError, TemporaryError
from core.execution import ExecutionOutcome, ExecutionResult, RetryPolicy
from core.execution.service import submit_recorded
from core.model import (
    AccountId,
    ClientOrderId,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Quantity,
    StrategyId,
)
from core.ports.execution import Execution
from core.ports.ledger import NOT_RECEIVED_BY_BROKER, Ledger, ReservationOutcome
from core.trading.entries import Book

Alert = Callable[[str, Mapping[str, Any]], None]
BrokerDown = Callable[[TemporaryError, str], None]


def closing_in_flight(position: Position, open_orders: Sequence[Order]) -> Decimal:
    """Quantity of ``position`` that open single-leg orders are already working to close."""
    total = Decimal(0)
    for order in open_orders:
        if order.is_multi_leg or not order.status.is_open or order.instrument != position.instrument:
            continue
        delta = order.side.sign * order.leaves_quantity.value
        if delta * position.net < 0:
            total += abs(delta)
    return total


def is_exit_order(order: Order, positions: dict[str, Position]) -> bool:
    """Whether a single-leg ``order`` trades against the position it concerns."""
    if order.is_multi_leg:
        return False
    pos = positions.get(str(order.instrument.id))
    return pos is not None and not pos.is_flat and order.side.sign * pos.net < 0


class ExitSubmitter:
    """Market exits and cancellations for one account."""

    def __init__(
        self,
        account_id: AccountId,
        broker: Execution,
        ledger: Ledger,
        clock: Clock,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.account_id = account_id
        self._broker = broker
        self._ledger = ledger
        self._clock = clock
        self._retry = retry
        self._sleep = sleep or (lambda s: clock.sleep_until(clock.now() + timedelta(seconds=s)))

    def exit(
        self,
        position: Position,
        quantity: Decimal,
        strategy: StrategyId,
        session: date,
        signal: str,
        reason: str,
    ) -> ExecutionResult:
        """Close ``quantity`` of ``position`` at market."""
        if self._ledger.has_open_discrepancies(self.account_id):
            return ExecutionResult(
                ExecutionOutcome.BLOCKED_UNRECONCILED,
                reason="unacknowledged reconciliation discrepancy: trading refused until resolved",
            )
        cid = ClientOrderId.derive(self.account_id, strategy, session, signal)
        known = self._ledger.get_order(cid)
        if known is not None and not (
            known.status is OrderStatus.REJECTED and known.reason == NOT_RECEIVED_BY_BROKER
        ):
            return ExecutionResult(ExecutionOutcome.DUPLICATE, known, "signal already has an order")
        side = OrderSide.SELL if position.net > 0 else OrderSide.BUY
        order = Order.single(
            cid,
            self.account_id,
            position.instrument,
            side,
            Quantity(quantity),
            self._clock.now(),
            order_type=OrderType.MARKET,
            strategy=strategy,
        )
        reservation = self._ledger.reserve(order, session)
        if reservation.outcome is ReservationOutcome.EXISTS:
            return ExecutionResult(
                ExecutionOutcome.DUPLICATE, reservation.order, "signal already has an order"
            )
        return self._submit(reservation.order, reason)

    def _submit(self, order: Order, reason: str) -> ExecutionResult:
        return submit_recorded(
            order,
            self._broker,
            self._ledger,
            self._clock,
            self._retry,
            self._sleep,
            f"market exit ({reason})",
        )

    def cancel(self, orders: Sequence[Order]) -> tuple[list[Order], list[str]]:
        """Cancel ``orders`` at the broker and record the outcome; returns (cancelled, errors)."""
        cancelled: list[Order] = []
        errors: list[str] = []
        for order in orders:
            try:
                result = self._broker.cancel(order.client_order_id)
            except RaydeskError as exc:
                errors.append(f"{order.client_order_id}: {exc}")
                continue
            self._ledger.record_order(result)
            cancelled.append(result)
        return cancelled, errors


class MarketExits:
    """Closing what is not already being closed, at market; with automation off, only an alert."""

    def __init__(self, submitter: ExitSubmitter, automation: bool, alert: Alert, down: BrokerDown) -> None:
        self.submitter = submitter
        self._automation = automation
        self._alert = alert
        self._down = down

    def close(
        self, position: Position, book: Book, strategy: str, signal: str, reason: str, session: date
    ) -> ExecutionResult | None:
        """A market exit of ``position``'s part not in flight; None when nothing is sent."""
        quantity = abs(position.net) - closing_in_flight(position, book.open_orders)
        if quantity <= 0:
            return None
        if not self._automation:
            self._alert(
                "exit_suggested",
                {"symbol": str(position.instrument.id), "reason": reason, "quantity": str(quantity)},
            )
            return None
        try:
            return self.submitter.exit(position, quantity, StrategyId(strategy), session, signal, reason)
        except TemporaryError as exc:
            self._down(exc, f"exit {position.instrument.id}")
            return None

    def cancel(self, orders: Sequence[Order]) -> tuple[list[Order], list[str]]:
        return self.submitter.cancel(orders)
