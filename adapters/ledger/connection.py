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


@contextmanager
def immediate(conn: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` write transaction under ``lock``: committed, or rolled back on error."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
