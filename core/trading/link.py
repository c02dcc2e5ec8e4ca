"""``BrokerLink``: the account's standing with its broker, one part of ``AccountService``.

Whether the ledger is reconciled with the broker (``ready``), whether open discrepancies block
new trades (``blocked``), the broker events taken into the ledger, the balance and the equity at
the session's first look (kept in the ledger, so a restart computes the same daily P&L). A
temporary broker failure marks the link not ready: it reconciles again (at most once a minute)
before the account trades again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from core.calendar import to_new_york
from core.errors import TemporaryError
from core.execution import ExecutionService, Reconciler, ReconcileResult
from core.model import AccountBalance, AccountId, Money, OrderStatus
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.trading.entries import Book

OPEN_STATUSES: Final = tuple(s for s in OrderStatus if s.is_open)
RECOVERY_RETRY: Final = timedelta(minutes=1)


class BrokerLink:
    """Reconciliation, broker events, balance and daily P&L of one account."""

    def __init__(
        self,
        account_id: AccountId,
        execution: ExecutionService,
        reconciler: Reconciler,
        ledger: Ledger,
        broker: Execution,
    ) -> None:
        self.account_id = account_id
        self._execution = execution
        self._reconciler = reconciler
        self._ledger = ledger
        self._broker = broker
        self.ready = False
        self.blocked = False
        self.balance: AccountBalance | None = None
        self._last_recovery: datetime | None = None
        self._session_start: tuple[date, Decimal] | None = None

    # -- reconciliation ---------------------------------------------------------------------
    def recover(self, now: datetime) -> tuple[ReconcileResult | None, str]:
        self._last_recovery = now
        try:
            result = self._reconciler.reconcile()
        except TemporaryError as exc:
            self.ready = False
            return None, f"reconciliation failed: {exc}"
        self.ready = True
        self.blocked = result.blocked
        return result, ""

    def ensure_ready(self, now: datetime) -> bool:
        """Retry recovery (at most once a minute) after a failed start or a broker outage."""
        if not self.ready and (self._last_recovery is None or now - self._last_recovery >= RECOVERY_RETRY):
            self.recover(now)
        return self.ready

    def down(self, exc: TemporaryError, during: str) -> None:
        # After an outage the ledger may have missed events: reconcile before trading again.
        self.ready = False
        self.alert("broker_unavailable", {"during": during, "error": str(exc)})

    def process_events(self) -> int:
        """The broker's order and fill events into the ledger; the fills taken."""
        if not self.ready:
            return 0
        try:
            return self._execution.process_events().fills
        except TemporaryError as exc:
            self.down(exc, "process events")
            return 0

    def has_open_discrepancies(self) -> bool:
        """Whether discrepancies block trading (and remember it)."""
        if not self.blocked and self._ledger.has_open_discrepancies(self.account_id):
            self.blocked = True
        return self.blocked

    # -- reads --------------------------------------------------------------------------------
    def book(self) -> Book:
        positions = {p.instrument.id: p for p in self._ledger.positions(self.account_id) if not p.is_flat}
        return Book(positions, self._ledger.orders(self.account_id, OPEN_STATUSES))

    def fetch_balance(self) -> AccountBalance:
        self.balance = self._broker.balance()
        return self.balance

    def refresh_balance(self) -> None:
        try:
            self._ledger.record_balance(self.fetch_balance())
        except TemporaryError as exc:
            self.down(exc, "balance")

    def peek_daily_pnl(self) -> Money | None:
        balance, start = self.balance, self._session_start
        if balance is None or start is None or start[0] != to_new_york(balance.ts).date():
            return None
        return Money(balance.equity.amount - start[1], balance.equity.currency)

    def daily_pnl(self, balance: AccountBalance, day: date) -> Money:
        """Equity now minus the equity at the session's first look (kept in the ledger)."""
        if self._session_start is None or self._session_start[0] != day:
            self._session_start = (day, balance.equity.amount)
            self._ledger.append_event(
                "trading.session_start",
                {"session": day.isoformat(), "equity": str(balance.equity.amount)},
                self.account_id,
            )
        return Money(balance.equity.amount - self._session_start[1], balance.equity.currency)

    def load_session_start(self) -> None:
        last = self._ledger.latest_event(self.account_id, "trading.session_start")
        if last is not None:
            self._session_start = (
                date.fromisoformat(str(last.payload["session"])),
                Decimal(str(last.payload["equity"])),
            )

    def alert(self, alert: str, payload: Mapping[str, Any]) -> None:
        self._ledger.append_event("trading.alert", {"alert": alert, **payload}, self.account_id)
