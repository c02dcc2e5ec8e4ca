"""``Reconciler``: start-up and crash recovery are one path.

``reconcile`` rebuilds the account from the ledger, fetches the broker's report and brings the
ledger up to date with it:

* orders the broker has that the ledger missed are adopted, and known orders are moved forward
  to the broker's state (never backwards);
* fills the ledger missed are recorded (a fill id already recorded is a no-op), with their
  positions;
* a write-ahead PENDING order the broker never received is marked REJECTED with the reason
  ``"not received by broker"``. That is safe: the same signal submitted again derives the same
  ``ClientOrderId``, which the broker deduplicates, and ``ExecutionService`` re-arms such an
  order instead of treating it as a finished trade;
* when a ledger position differs from the broker's, a discrepancy is recorded and the account
  refuses to trade until the difference disappears (a later reconcile resolves it) or someone
  acknowledges it (``Ledger.acknowledge_discrepancies``). The same difference, once
  acknowledged, is not raised again; a different one is.

Run it before the account trades and whenever the broker connection comes back, never while an
``execute`` of the same account is in flight (a PENDING order being submitted would be taken for
one the broker never received).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.clock import Clock, ensure_utc
from core.messages import ReconciliationReport
from core.model import AccountId, ClientOrderId, InstrumentId, Order, OrderStatus
from core.ports.execution import Execution
from core.ports.ledger import NOT_RECEIVED_BY_BROKER, Discrepancy, Ledger

RECONCILED = "reconciled"
"""Kind of the ledger event each reconciliation appends (its ``report_ts`` bounds the next)."""


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """What a reconciliation changed. ``blocked``: the account must not trade."""

    account_id: AccountId
    since: datetime
    report_ts: datetime
    orders_adopted: tuple[ClientOrderId, ...]
    orders_updated: int
    fills_recorded: int
    not_received: tuple[ClientOrderId, ...]
    discrepancies: tuple[Discrepancy, ...]
    blocked: bool


class Reconciler:
    """Brings one account's ledger in line with its broker."""

    def __init__(
        self,
        account_id: AccountId,
        execution: Execution,
        ledger: Ledger,
        clock: Clock,
        lookback: timedelta = timedelta(days=1),
    ) -> None:
        self.account_id = account_id
        self._execution = execution
        self._ledger = ledger
        self._clock = clock
        self.lookback = lookback

    def default_since(self) -> datetime:
        """The earliest of: ``lookback`` ago, the last reconciliation, the oldest open order."""
        candidates = [self._clock.now() - self.lookback]
        last = self._ledger.latest_event(self.account_id, RECONCILED)
        if last is not None and "report_ts" in last.payload:
            candidates.append(ensure_utc(datetime.fromisoformat(str(last.payload["report_ts"]))))
        open_orders = self._ledger.orders(self.account_id, [s for s in OrderStatus if s.is_open])
        candidates += [o.created_at for o in open_orders]
        return min(candidates)

    def reconcile(self, since: datetime | None = None) -> ReconcileResult:
        """Adopt what the ledger missed, resolve PENDING orders, compare positions."""
        known = {o.client_order_id for o in self._ledger.orders(self.account_id)}
        since = since if since is not None else self.default_since()
        report = self._execution.report(since)
        adopted: list[ClientOrderId] = []
        updated = 0
        broker_orders = {o.client_order_id: o for o in (*report.orders, *report.open_orders)}
        for order in broker_orders.values():
            if self._ledger.record_order(order):
                if order.client_order_id in known:
                    updated += 1
                else:
                    adopted.append(order.client_order_id)
        fills = sum(1 for fill in report.fills if self._ledger.record_fill(fill))
        not_received = self._resolve_pending(set(broker_orders), adopted)
        found = self._compare_positions(report)
        self._ledger.record_balance(report.balance)
        self._ledger.append_event(
            RECONCILED,
            {
                "since": since.isoformat(),
                "report_ts": report.ts.isoformat(),
                "orders_adopted": [str(c) for c in adopted],
                "orders_updated": updated,
                "fills_recorded": fills,
                "not_received": [str(c) for c in not_received],
                "discrepancies": len(found),
            },
            self.account_id,
        )
        return ReconcileResult(
            account_id=self.account_id,
            since=since,
            report_ts=report.ts,
            orders_adopted=tuple(adopted),
            orders_updated=updated,
            fills_recorded=fills,
            not_received=tuple(not_received),
            discrepancies=tuple(found),
            blocked=self._ledger.has_open_discrepancies(self.account_id),
        )

    def _resolve_pending(
        self, in_report: set[ClientOrderId], adopted: list[ClientOrderId]
    ) -> list[ClientOrderId]:
        not_received: list[ClientOrderId] = []
        for order in self._ledger.orders(self.account_id, [OrderStatus.PENDING]):
            if order.client_order_id in in_report:
                continue
            # The report covers orders since ``since``; ask for this one directly before
            # concluding that the broker never got it.
            at_broker = self._execution.get_order(order.client_order_id)
            if at_broker is not None:
                if self._ledger.record_order(at_broker):
                    adopted.append(order.client_order_id)
                continue
            self._ledger.record_order(_not_received(order, self._clock.now()))
            not_received.append(order.client_order_id)
        return not_received

    def _compare_positions(self, report: ReconciliationReport) -> list[Discrepancy]:
        ours = {p.instrument.id: p.net for p in self._ledger.positions(self.account_id) if not p.is_flat}
        theirs: dict[InstrumentId, Decimal] = {}
        for p in report.positions:
            if p.net != 0:
                theirs[p.instrument.id] = theirs.get(p.instrument.id, Decimal(0)) + p.net
        differing: set[str] = set()
        found: list[Discrepancy] = []
        for iid in sorted(ours.keys() | theirs.keys()):
            mine, broker = ours.get(iid, Decimal(0)), theirs.get(iid, Decimal(0))
            if mine == broker:
                continue
            differing.add(str(iid))
            recorded = self._ledger.record_discrepancy(
                self.account_id,
                "position",
                str(iid),
                _text(mine),
                _text(broker),
                f"ledger net {_text(mine)} vs broker net {_text(broker)} for {iid}",
            )
            if recorded is not None:
                found.append(recorded)
        self._ledger.settle_discrepancies(self.account_id, differing)
        return found


def _not_received(order: Order, at: datetime) -> Order:
    return order.transition(OrderStatus.REJECTED, at, reason=NOT_RECEIVED_BY_BROKER)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
