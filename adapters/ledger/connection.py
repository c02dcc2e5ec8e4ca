"""Opening a ledger database: one connection setup for every SQLite store on the ledger file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: str | Path, timeout_seconds: float) -> sqlite3.Connection:
    """A thread-shareable autocommit connection with rows by name, WAL journal and full sync."""
    conn = sqlite3.connect(path, timeout=timeout_seconds, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_seconds * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class Transactions:
    """Write transactions on one connection, nestable.

    The outermost ``transaction()`` is one ``BEGIN IMMEDIATE`` transaction (the database's write
    lock taken up front, committed with a full sync at the end); one opened inside it is a
    savepoint of it, undone alone if its block raises. So a caller can group several writes into
    one commit, and each write keeps its all-or-nothing behaviour.
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction (or, nested, a savepoint) under the lock: committed, or rolled back on error."""
        with self._lock:
            outer = self._depth == 0
            savepoint = f"sp{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth -= 1
            if not outer:
                self._conn.execute(f"RELEASE {savepoint}")
                return
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
