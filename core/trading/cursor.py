"""``Cursor``: how far an account has read each of its streams, as one small mapping.

Keys: each bar timeframe (the last event ``seq`` processed) and ``ledger`` (the last ledger
event published, ``LedgerOutbox``). This one is in memory; ``adapters.ledger.cursor.FileCursor``
keeps it in a file replaced atomically, saved once per kernel step.
"""

from __future__ import annotations

from core.messages import BarEvent


class Cursor(dict[str, int]):
    """Stream positions, in memory (``save`` is a no-op)."""

    def seen(self, event: BarEvent) -> bool:
        return event.seq <= self.get(event.timeframe, -1)

    def mark(self, event: BarEvent) -> None:
        self[event.timeframe] = event.seq

    def save(self) -> None:
        """Make the positions durable (nothing to do in memory)."""
