"""``LedgerOutbox``: the account's ledger events after one cursor, published on its bus.

The ledger is the outbox: every order change, fill, denial, reconciliation, override and
snapshot is committed there first. ``drain`` reads what is new after the cursor once, page
by page, publishes each event as ``LedgerRecorded`` and the batch's fills as one
``FillsRecorded``, then moves the cursor. A crash before the cursor is saved re-publishes
those events on the next start (snapshots are idempotent; a notification may repeat, never
be lost).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Final

from core.messages import FillsRecorded, LedgerRecorded
from core.model import AccountId
from core.ports.ledger import Ledger
from core.trading.bus import MessageBus

CURSOR_KEY: Final = "ledger"
_PAGE: Final = 500


class LedgerOutbox:
    """Publishes one account's new ledger events; ``cursor[CURSOR_KEY]`` is the last seq taken."""

    def __init__(
        self, account_id: AccountId, ledger: Ledger, bus: MessageBus, cursor: MutableMapping[str, int]
    ) -> None:
        self.account_id = account_id
        self.bus = bus
        self._ledger = ledger
        self._cursor = cursor

    @property
    def seq(self) -> int:
        return self._cursor.get(CURSOR_KEY, 0)

    @property
    def started(self) -> bool:
        """Whether the cursor holds a position (else the first start decides where to begin)."""
        return CURSOR_KEY in self._cursor

    def skip_to_end(self) -> int:
        """Move past every recorded event without publishing (a first start with no cursor)."""
        seq = self.seq
        while batch := self._ledger.events(seq, _PAGE, self.account_id):
            seq = batch[-1].seq
        self._cursor[CURSOR_KEY] = seq
        return seq

    def drain(self) -> int:
        """Publish the events recorded since the last drain; returns how many."""
        seq, read = self.seq, 0
        fills: list[str] = []
        while batch := self._ledger.events(seq, _PAGE, self.account_id):
            for event in batch:
                if event.kind == "fill":
                    fills.append(str(event.payload["fill_id"]))
                self.bus.publish(
                    LedgerRecorded(self.account_id, event.seq, event.ts, event.kind, event.payload)
                )
            read += len(batch)
            seq = batch[-1].seq
            if len(batch) < _PAGE:
                break
        if fills:
            self.bus.publish(FillsRecorded(self.account_id, tuple(fills)))
        if read:
            self._cursor[CURSOR_KEY] = seq
        return read
