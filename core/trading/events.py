"""``EventMirror``: the ledger's events of one account, republished on the ``EventLog``.

The ledger is the durable record and already logs every order change, fill, denial,
reconciliation and override in one sequence; the mirror forwards what is new after each cycle,
under the event kinds the TUI and reports read. A publish that fails (Redis down) is retried on
the next call from the same sequence number, so nothing is skipped.
"""

from __future__ import annotations

from typing import Any, Final

from core.errors import TemporaryError
from core.model import AccountId
from core.ports.cache import EventLog
from core.ports.ledger import Ledger, LedgerEvent

_EXACT: Final[dict[str, str | None]] = {
    "fill": "fill",
    "risk.denied": "denial",
    "reconciled": "reconcile",
    "override": "override",
    "execution.unconfirmed": "alert",
    "execution.unpriced": "alert",
    "trading.score_fallback": "alert",
    "trading.alert": "alert",
    "trading.suggestion": "suggestion",
    "trading.flatten": "system",
    "trading.recovered": "system",
    # Internal bookkeeping the ledger needs for recovery; nothing to show.
    "trading.protection": None,
    "trading.session_start": None,
}
_PREFIXES: Final = (("order.", "order"), ("reconcile.", "reconcile"), ("snapshot.", "snapshot"))
_PAGE: Final = 500


def event_kind(ledger_kind: str) -> str | None:
    """The ``EventLog`` kind of a ledger event kind; None: not published."""
    if ledger_kind in _EXACT:
        return _EXACT[ledger_kind]
    for prefix, kind in _PREFIXES:
        if ledger_kind.startswith(prefix):
            return kind
    return "system"


class EventMirror:
    """Forwards one account's ledger events after ``seq`` to the event log."""

    def __init__(self, account_id: AccountId, ledger: Ledger, events: EventLog, seq: int = 0) -> None:
        self.account_id = account_id
        self._ledger = ledger
        self._events = events
        self.seq = seq
        self.published = 0
        self.failures = 0

    def skip_to_end(self) -> int:
        """Move past every recorded event without publishing (a first start with no history)."""
        while batch := self._ledger.events(self.seq, _PAGE, self.account_id):
            self.seq = batch[-1].seq
        return self.seq

    def flush(self) -> int:
        """Publish the events recorded since the last flush; returns how many were published."""
        count = 0
        try:
            while batch := self._ledger.events(self.seq, _PAGE, self.account_id):
                for event in batch:
                    kind = event_kind(event.kind)
                    if kind is not None:
                        self._events.publish(self._entry(kind, event))
                        count += 1
                    self.seq = event.seq
                if len(batch) < _PAGE:
                    break
        except TemporaryError:
            self.failures += 1
        self.published += count
        return count

    def _entry(self, kind: str, event: LedgerEvent) -> dict[str, Any]:
        payload = dict(event.payload) | {"ledger_kind": event.kind, "seq": event.seq}
        return {"kind": kind, "account": str(self.account_id), "ts": event.ts, "payload": payload}
