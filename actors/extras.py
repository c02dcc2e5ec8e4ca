"""What an account actor does around ``AccountService``: options, snapshots, notifications.

``LedgerWatch`` reads the account's ledger events after a cursor kept in
``<account>/watch.json`` and hands fills to ``FillSnapshots`` and every event that calls for it
to the notifications; a crash re-reads from the last cursor (snapshots are idempotent, a
notification may be sent twice, never lost). ``AccountExtras`` bundles it with the account's
``OptionsDesk`` (``None`` without ``trident``) for ``AccountHost`` to call.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from actors.notifications import BackgroundNotify, daily_report, error_notice, notice
from actors.options import OptionsDesk
from actors.snapshots import FillSnapshots, RecordingExecution
from core.errors import TemporaryError
from core.learning import EntryContext, Mark, stats
from core.model import AccountId
from core.ports.cache import QuoteCache
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.strategies.trident import CycleStatus

log = logging.getLogger(__name__)
T = TypeVar("T")
_PAGE = 500


class LedgerWatch:
    """New ledger events of one account, to snapshots and notifications."""

    def __init__(
        self,
        account_id: AccountId,
        ledger: Ledger,
        path: Path,
        snapshots: FillSnapshots,
        notify: BackgroundNotify | None,
    ) -> None:
        self.account_id = account_id
        self.path = path
        self.seq = int(json.loads(path.read_text())["seq"]) if path.exists() else 0
        self._ledger = ledger
        self._snapshots = snapshots
        self._notify = notify

    def poll(self) -> int:
        """Handle the events recorded since the last poll; returns how many were read."""
        fills: list[str] = []
        read, seq = 0, self.seq
        while batch := self._ledger.events(seq, _PAGE, self.account_id):
            for event in batch:
                if event.kind == "fill":
                    fills.append(str(event.payload["fill_id"]))
                note = notice(event, str(self.account_id)) if self._notify is not None else None
                if note is not None and self._notify is not None:
                    self._notify.notify(note)
            read += len(batch)
            seq = batch[-1].seq
            if len(batch) < _PAGE:
                break
        if read:
            self._snapshots.on_fills(fills)
            self.seq = seq
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seq": seq}))
            tmp.replace(self.path)
        return read


@dataclass
class AccountExtras:
    """The account's options desk, snapshots and notifications, for ``AccountHost``."""

    account_id: str
    ledger: Ledger
    broker: Execution
    quotes: QuoteCache
    execution: RecordingExecution
    snapshots: FillSnapshots
    watch: LedgerWatch
    notify: BackgroundNotify
    options: OptionsDesk | None = None
    bankroll: Decimal = Decimal(0)

    def guarded(self, during: str, now: datetime, fn: Callable[[], T]) -> T:
        """Run ``fn``; an exception is notified (as an error) and raised again."""
        try:
            return fn()
        except Exception as exc:
            self.notify.notify(error_notice(self.account_id, during, exc, now))
            raise

    def on_minute(self, now: datetime) -> int:
        """The options quotes of the minute (0 without options)."""
        return 0 if self.options is None else self.options.publish(now)

    def process_events(self) -> int:
        """Broker events into the ledger, for an account whose service does not see this feed."""
        try:
            return self.execution.process_events().fills
        except TemporaryError as exc:
            self.ledger.append_event(
                "trading.alert",
                {"alert": "broker_unavailable", "during": "process events", "error": str(exc)},
                AccountId(self.account_id),
            )
            return 0

    def after(self) -> int:
        return self.watch.poll()

    def options_cycle(self, blocked_by: str | None) -> dict[str, Any]:
        if self.options is None:
            return {"status": "no_trident"}
        if blocked_by:
            return {"status": "skipped", "reason": blocked_by}
        self.process_events()
        result = self.options.run_cycle()
        order = result.order
        if result.status is CycleStatus.SUBMITTED and order is not None and result.suggestion is not None:
            marks = self.options.leg_marks(result, result.suggestion.created_at)
            self.execution.remember(
                str(order.client_order_id), EntryContext.from_suggestion(result.suggestion, marks)
            )
        self.after()
        return {
            "status": str(result.status),
            "attempts": result.attempts,
            "order": None if order is None else str(order.client_order_id),
            "reason": result.reason,
        }

    def exits(self) -> list[str]:
        if self.options is None:
            return []
        sent: list[str] = []
        for decision, result in self.options.exits():
            if result.order is not None:
                quotes: Mapping[str, Mark] = {str(k): v for k, v in decision.quotes.items()}
                self.execution.remember(
                    str(result.order.client_order_id),
                    EntryContext(strategy=str(decision.suggestion.strategy), quotes=quotes),
                )
            sent.append(f"{decision.reason}: {result.outcome}")
        self.after()
        return sent

    def position_snapshot(self, now: datetime) -> dict[str, Any]:
        """The daily snapshot of every open trade, marked from the chain and the quote cache."""
        self.after()
        marks: dict[str, Mark] = {}
        wanted = self.snapshots.open_instruments()
        # Redis down: marked from the chain only (options) or left unmarked (equities).
        with contextlib.suppress(TemporaryError):
            marks.update({str(k): v for k, v in self.quotes.get_many(wanted).items()} if wanted else {})
        if self.options is not None:
            marks.update(self.options.marks(now))
        written = self.snapshots.daily(now, marks)
        return {
            "daily_snapshots": written,
            "open_trades": len(self.snapshots.service.open_trades(AccountId(self.account_id))),
        }

    def daily_report(self, now: datetime) -> dict[str, Any]:
        """The account's P&L summary as a ``daily_report`` notification; the digest is flushed."""
        account = AccountId(self.account_id)
        equity = self.broker.balance().equity.amount
        realized = sum((p.realized_pnl.amount for p in self.ledger.positions(account)), Decimal(0))
        learning = stats(self.ledger, self.account_id)
        figures = {
            "equity": f"{equity:.2f}",
            "pnl": f"{equity - self.bankroll:+.2f}",
            "realized": f"{realized:+.2f}",
            "fills": str(len(self.ledger.fills(account))),
            "open_positions": str(sum(1 for p in self.ledger.positions(account) if not p.is_flat)),
            "snapshots": f"{learning.entry_snapshots}/{learning.daily_snapshots}/{learning.exit_snapshots}",
        }
        self.notify.notify(daily_report(self.account_id, now, list(figures.items())))
        self.notify.flush_digest(self.account_id)
        return figures

    def close(self) -> None:
        self.notify.close()
