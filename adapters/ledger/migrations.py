"""Apply the ledger's versioned migrations, each in its own ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import sqlite3

from adapters.ledger.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_TABLE
from core.errors import DataError


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration (0 for an empty database)."""
    conn.execute(SCHEMA_VERSION_TABLE)
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection, applied_at: str, target: int = LATEST_VERSION) -> int:
    """Bring the schema up to ``target``; returns the version reached.

    Safe when several processes open a new ledger at once: each step re-reads the version inside
    its write transaction, so a step is applied exactly once.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise DataError(f"unknown ledger schema version {target} (latest is {LATEST_VERSION})")
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise DataError(f"ledger schema v{version} is newer than this code (v{LATEST_VERSION})")
    for step in MIGRATIONS:
        if step.version > target:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) < step.version:
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                    (step.version, step.description, applied_at),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current_version(conn)
