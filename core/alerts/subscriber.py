"""``DeskAlerts``: feeds the desk's messages to ``AlertRules`` and hands each alert to a sink.

Subscribe it to an account kernel's bus (``subscribe``: ``LedgerRecorded``), give it event-log
entries (``on_log_event``), finished task runs (``on_task_run``), closed sessions and learning
coverage. The sink (the notification dispatcher, usually behind a worker thread) never raises
into trading; neither does this.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

from core.alerts.events import DeskEvent, task_run_alert
from core.alerts.rules import AlertRules
from core.messages import LedgerRecorded
from core.ports.notify import Notification
from core.scheduling.runs import TaskRun
from core.trading.bus import MessageBus

__all__ = ["AlertSink", "DeskAlerts"]

log = logging.getLogger(__name__)


class AlertSink(Protocol):
    def notify(self, notification: Notification) -> Any: ...


class DeskAlerts:
    def __init__(self, rules: AlertRules, sink: AlertSink) -> None:
        self.rules = rules
        self.sink = sink
        self.raised: list[Notification] = []

    def subscribe(self, bus: MessageBus) -> None:
        """Take the account kernel's ledger events from ``bus``."""
        bus.subscribe(LedgerRecorded, self.on_recorded)

    def on_recorded(self, message: LedgerRecorded) -> None:
        self.on_event(DeskEvent.of(message))

    def on_log_event(self, event: Mapping[str, Any]) -> None:
        """An entry of the Redis event log (``EventLog.read``'s ``{kind, account, ts, payload}``)."""
        self.on_event(DeskEvent.from_log(event))

    def on_event(self, event: DeskEvent) -> None:
        self._raise(self.rules.on_event(event))

    def on_task_run(self, run: TaskRun) -> None:
        note = task_run_alert(run)
        self._raise([] if note is None else [note])

    def session_closed(self, account_id: str, session: date, ts: datetime) -> None:
        self._raise(self.rules.session_closed(account_id, session, ts))

    def learning_coverage(self, coverage: Mapping[str, float], ts: datetime) -> None:
        self._raise(self.rules.learning_coverage(coverage, ts))

    def _raise(self, notes: list[Notification]) -> None:
        for note in notes:
            self.raised.append(note)
            try:
                self.sink.notify(note)
            except Exception as exc:  # an alert never breaks trading
                log.error("alert %s not handed over: %s", note.fields.get("alert"), type(exc).__name__)
