"""``SqliteRunStore``: the scheduler's ``RunStore`` in its own ``task_runs`` table.

It may share the ledger's file: the table is created if missing and touches nothing else. The
SQL is portable (no AUTOINCREMENT; ``seq`` is assigned under the write lock), so the same table
works on PostgreSQL.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.ledger.codec import ts_parse, ts_text
from adapters.ledger.connection import Transactions, connect
from core.scheduling.runs import RunStatus, TaskRun

__all__ = ["SqliteRunStore"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS task_runs (
        seq INTEGER NOT NULL PRIMARY KEY,
        task TEXT NOT NULL,
        due TEXT NOT NULL,
        session TEXT,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS task_runs_task_due ON task_runs (task, due)",
)
_COLUMNS = "task, due, session, started, finished, status, detail"


def _to_run(row: sqlite3.Row) -> TaskRun:
    return TaskRun(
        task=row["task"],
        due=ts_parse(row["due"]),
        started=ts_parse(row["started"]),
        finished=ts_parse(row["finished"]),
        status=RunStatus(row["status"]),
        detail=row["detail"],
        session=None if row["session"] is None else date.fromisoformat(row["session"]),
    )


class SqliteRunStore:
    """Task runs in SQLite (WAL, full sync); safe to share between threads."""

    def __init__(self, path: str | Path, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = self._open(path, timeout_seconds)
        self._transactions = Transactions(self._conn, self._lock)
        with self._lock:
            for statement in _SCHEMA:
                self._conn.execute(statement)

    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> sqlite3.Connection:
        """The database connection (``PostgresRunStore`` opens its own)."""
        return connect(Path(location), timeout_seconds)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def record(self, run: TaskRun) -> None:
        values = (
            run.task,
            ts_text(run.due),
            None if run.session is None else run.session.isoformat(),
            ts_text(run.started),
            ts_text(run.finished),
            run.status.value,
            run.detail,
        )
        with self._transactions.transaction() as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM task_runs").fetchone()
            conn.execute(
                f"INSERT INTO task_runs (seq, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (int(row[0]), *values),
            )

    def last_run(self, task: str) -> TaskRun | None:
        rows = self._select("WHERE task = ? ORDER BY due DESC, seq DESC LIMIT 1", (task,))
        return _to_run(rows[0]) if rows else None

    def list(self, task: str | None = None, since: datetime | None = None) -> builtins.list[TaskRun]:
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if task is not None:
            where.append("task = ?")
            params.append(task)
        if since is not None:
            where.append("due >= ?")
            params.append(ts_text(since))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        return [_to_run(r) for r in self._select(f"{clause}ORDER BY due, seq", params)]

    def _select(self, tail: str, params: tuple[Any, ...] | builtins.list[Any]) -> builtins.list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(f"SELECT {_COLUMNS} FROM task_runs {tail}", tuple(params)).fetchall()
