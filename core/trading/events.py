"""``EventMirror``: the account's ledger events, republished on the ``EventLog`` for the TUI.

A subscriber of the kernel's bus: each ``LedgerRecorded`` goes out under the event kind the
TUI and reports read. A publish that fails (Redis down) waits and is sent before the next one,
so nothing is skipped.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from core.errors import TemporaryError
from core.messages import LedgerRecorded
from core.model import AccountId
from core.ports.cache import EventLog

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


def event_kind(ledger_kind: str) -> str | None:
    """The ``EventLog`` kind of a ledger event kind; None: not published."""
    if ledger_kind in _EXACT:
        return _EXACT[ledger_kind]
    for prefix, kind in _PREFIXES:
        if ledger_kind.startswith(prefix):
            return kind
    return "system"


class EventMirror:
    """Republishes one account's ``LedgerRecorded`` messages on the event log (a bus subscriber).

    Entries the log refused (Redis down) wait, in order, and go out before the next one.
    """

    def __init__(self, account_id: AccountId, events: EventLog) -> None:
        self.account_id = account_id
        self._events = events
        self._pending: deque[dict[str, Any]] = deque()
        self.published = 0
        self.failures = 0

    def __call__(self, message: LedgerRecorded) -> None:
        kind = event_kind(message.kind)
        if kind is not None:
            self._pending.append(self._entry(kind, message))
        self.flush()

    def flush(self) -> int:
        """Send what waits; returns how many went out."""
        count = 0
        try:
            while self._pending:
                self._events.publish(self._pending[0])
                self._pending.popleft()
                count += 1
        except TemporaryError:
            self.failures += 1
        self.published += count
        return count

    def _entry(self, kind: str, m: LedgerRecorded) -> dict[str, Any]:
        payload = dict(m.payload) | {"ledger_kind": m.kind, "seq": m.seq}
        return {"kind": kind, "account": str(self.account_id), "ts": m.ts, "payload": payload}
