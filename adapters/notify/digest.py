"""Digest stores: notifications held for an account's daily digest until it is flushed.

``pending`` then ``remove`` (by id) lets the dispatcher drop only what it delivered: entries
queued while a flush is sending stay for the next one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from core.ports.notify import Notification, NotificationKind, Severity

__all__ = ["DigestEntry", "DigestStore", "InMemoryDigestStore", "SqliteDigestStore"]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    id: int
    notification: Notification


@runtime_checkable
class DigestStore(Protocol):
    def add(self, notification: Notification) -> int:
        """Queue ``notification``; returns its entry id."""
        ...

    def pending(self, account_id: str | None = None) -> list[DigestEntry]:
        """Queued entries in queue order: one account's, or every account's (None)."""
        ...

    def remove(self, ids: Iterable[int]) -> None:
        """Forget delivered entries (unknown ids are ignored)."""
        ...


class InMemoryDigestStore:
    """A digest that lives as long as the process."""

    def __init__(self) -> None:
        self._entries: dict[int, Notification] = {}
        self._next = 1
        self._lock = threading.Lock()

    def add(self, notification: Notification) -> int:
        with self._lock:
            entry_id, self._next = self._next, self._next + 1
            self._entries[entry_id] = notification
            return entry_id

    def pending(self, account_id: str | None = None) -> list[DigestEntry]:
        with self._lock:
            return [
                DigestEntry(i, n)
                for i, n in self._entries.items()
                if account_id is None or n.account_id == account_id
            ]

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            for entry_id in ids:
                self._entries.pop(entry_id, None)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_digest (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    ts TEXT NOT NULL,
    fields TEXT NOT NULL
)
"""


class SqliteDigestStore:
    """A digest in a SQLite file, so a restart does not lose the day's queued notifications."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per call: safe across threads and processes, and nothing to close.
        with closing(sqlite3.connect(self._path, timeout=5.0)) as conn, conn:
            yield conn

    def add(self, notification: Notification) -> int:
        n = notification
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO notify_digest (account_id, kind, severity, title, body, ts, fields)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    n.account_id,
                    n.kind,
                    n.severity,
                    n.title,
                    n.body,
                    n.ts.isoformat(),
                    json.dumps(dict(n.fields)),
                ),
            )
            return int(cursor.lastrowid or 0)

    def pending(self, account_id: str | None = None) -> list[DigestEntry]:
        query = "SELECT id, account_id, kind, severity, title, body, ts, fields FROM notify_digest"
        params: tuple[str, ...] = ()
        if account_id is not None:
            query += " WHERE account_id = ?"
            params = (account_id,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id", params).fetchall()
        return [
            DigestEntry(
                int(row[0]),
                Notification(
                    kind=cast(NotificationKind, row[2]),
                    severity=cast(Severity, row[3]),
                    account_id=row[1],
                    title=row[4],
                    body=row[5],
                    ts=datetime.fromisoformat(row[6]),
                    fields=json.loads(row[7]),
                ),
            )
            for row in rows
        ]

    def remove(self, ids: Iterable[int]) -> None:
        with self._connect() as conn:
            conn.executemany("DELETE FROM notify_digest WHERE id = ?", [(i,) for i in ids])
