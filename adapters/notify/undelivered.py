"""``SqliteUndeliveredLog``: what a channel could not deliver after its retries, kept on disk.

A down channel never stops trading: the dispatcher retries within its budget, then records the
notification here (``raydesk health`` counts them). The error text is the channel's own
redacted one, so no secret is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.ports.notify import DeliveryResult, Notification

__all__ = ["SqliteUndeliveredLog", "UndeliveredEntry"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS notify_undelivered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    account_id TEXT,
    kind TEXT NOT NULL,
    alert TEXT,
    title TEXT NOT NULL,
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
)"""


@dataclass(frozen=True, slots=True)
class UndeliveredEntry:
    ts: str
    account_id: str | None
    kind: str
    alert: str | None
    title: str
    channel: str
    attempts: int
    error: str | None


class SqliteUndeliveredLog:
    """Callable as the dispatcher's ``undelivered`` hook; ``entries`` reads them back."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=5.0)) as conn, conn:
            yield conn

    def __call__(self, notification: Notification, failed: DeliveryResult) -> None:
        n = notification
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO notify_undelivered (ts, account_id, kind, alert, title, channel, attempts, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    n.ts.isoformat(),
                    n.account_id,
                    n.kind,
                    n.fields.get("alert"),
                    n.title,
                    failed.channel,
                    failed.attempts,
                    failed.error,
                ),
            )

    def entries(self, since: str | None = None) -> list[UndeliveredEntry]:
        """Recorded entries in order (``since``: ISO time, inclusive)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT ts, account_id, kind, alert, title, channel, attempts, error FROM notify_undelivered"
                " WHERE ts >= ? ORDER BY id",
                (since or "",),
            ).fetchall()
        return [UndeliveredEntry(*row) for row in rows]
