"""The ledger on PostgreSQL: the same SQL, schema and transactions as on SQLite, by URL.

``PgConnection`` presents the part of ``sqlite3.Connection`` the ledger uses (``execute`` with
``?`` parameters, rows read by name or position, ``rowcount``, ``in_transaction``) over one
psycopg 3 connection, so ``SqliteLedger``'s code runs unchanged on either database:

* ``BEGIN IMMEDIATE`` (SQLite's write lock taken up front) becomes ``BEGIN`` plus a
  transaction-scoped advisory lock: writers to one ledger queue exactly as on SQLite, so the
  once-per-day guard's check-then-insert and the ``MAX + 1`` sequence numbers stay race-free.
* ``CREATE TABLE`` gets PostgreSQL types: money and quantities ``NUMERIC``, instants
  ``TIMESTAMPTZ``, sessions ``DATE``, sequence keys ``BIGINT``.
* Values read back are given in the codec's text form (a ``Decimal`` as written, an instant in
  the fixed-width UTC format), so one codec serves both databases and round trips are exact.
  Parameters are sent untyped and PostgreSQL casts them to the column's type.

Every committed transaction is durable on return (``synchronous_commit`` is left on).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker

from adapters.ledger import codec
from adapters.ledger.schema import LATEST_VERSION
from adapters.ledger.sqlite import SqliteLedger
from adapters.ledger.task_runs import SqliteRunStore
from core.clock import Clock
from core.errors import ConfigError, TemporaryError

__all__ = ["PgConnection", "PostgresLedger", "PostgresRunStore", "is_postgres_url", "open_ledger"]

_SCHEMES = ("postgresql://", "postgres://")
_NUMERIC = frozenset(
    {
        "quantity", "filled_quantity", "limit_price", "stop_price", "avg_fill_price", "price",
        "commission", "net", "avg_price", "realized_pnl", "cash", "buying_power", "equity",
    }
)  # fmt: skip
_INSTANT = frozenset(
    {
        "ts", "created_at", "updated_at", "applied_at", "acquired_at", "detected_at",
        "acknowledged_at", "resolved_at", "due", "started", "finished",
    }
)  # fmt: skip
_DATE = frozenset({"session"})
_COLUMN = re.compile(r"^(\s*)(\w+)\s+(TEXT|INTEGER)\b", re.MULTILINE)
# One lock key per ledger database: every writer of that database takes it first.
_WRITE_LOCK_KEY = 0x7261796465736B  # "raydesk"


def is_postgres_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


def pg_ddl(statement: str) -> str:
    """``statement`` with each column's SQLite type replaced by its PostgreSQL type."""
    if not statement.lstrip().upper().startswith("CREATE TABLE"):
        return statement

    def column(match: re.Match[str]) -> str:
        indent, name, kind = match.groups()
        if kind == "INTEGER":
            return f"{indent}{name} BIGINT"
        if name in _NUMERIC:
            return f"{indent}{name} NUMERIC"
        if name in _INSTANT:
            return f"{indent}{name} TIMESTAMPTZ"
        if name in _DATE:
            return f"{indent}{name} DATE"
        return match.group(0)

    return _COLUMN.sub(column, statement)


def _as_codec_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return codec.ts_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Row(tuple[Any, ...]):
    """A result row read by position (``row[0]``) or by column name (``row["seq"]``)."""

    _names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        return Row((_as_codec_text(v) for v in values), names)

    return make


class PgCursor:
    """The result of ``PgConnection.execute``."""

    def __init__(self, cursor: psycopg.Cursor[Row]) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall() if self._cursor.description else []


class PgConnection:
    """The subset of ``sqlite3.Connection`` the ledger uses, on one psycopg connection."""

    def __init__(self, url: str, timeout_seconds: float = 30.0) -> None:
        try:
            self._conn: psycopg.Connection[Row] = psycopg.connect(
                url,
                autocommit=True,  # transactions are explicit, as on SQLite with isolation_level=None
                row_factory=_row_factory,
                connect_timeout=max(1, int(timeout_seconds)),
                options=f"-c lock_timeout={int(timeout_seconds * 1000)} -c TimeZone=UTC",
            )
        except psycopg.OperationalError as exc:
            # The message may name the host but never the password (psycopg leaves it out).
            raise TemporaryError(f"ledger: cannot connect to PostgreSQL: {exc}".strip()) from None
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        statement = sql.strip()
        with self._lock:
            if statement == "BEGIN IMMEDIATE":
                self._conn.execute("BEGIN")
                cursor = self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_KEY,))
                return PgCursor(cursor)
            text = cast(Any, pg_ddl(statement).replace("%", "%%").replace("?", "%s"))
            if statement.upper().startswith("CREATE") and not self.in_transaction:
                # Concurrent "CREATE ... IF NOT EXISTS" races in PostgreSQL's catalog (a unique
                # violation); under the write lock it behaves as on SQLite.
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK_KEY,))
                    return PgCursor(self._conn.execute(text, tuple(params)))
            return PgCursor(self._conn.execute(text, tuple(params)))

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


class PostgresLedger(SqliteLedger):
    """The ``Ledger`` port on PostgreSQL (``postgresql://user@host:port/db``); see the module doc."""

    def __init__(
        self,
        url: str,
        clock: Clock | None = None,
        timeout_seconds: float = 30.0,
        schema_version: int = LATEST_VERSION,
    ) -> None:
        if not is_postgres_url(url):
            raise ConfigError("ledger.url: expected a postgresql:// URL")
        self.url = url
        super().__init__(url, clock, timeout_seconds, schema_version)

    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> Any:
        return PgConnection(str(location), timeout_seconds)

    def pragma(self, name: str) -> Any:
        raise NotImplementedError("PRAGMA is SQLite's; PostgreSQL has none")


class PostgresRunStore(SqliteRunStore):
    """The scheduler's task runs in the PostgreSQL ledger database."""

    def __init__(self, url: str, timeout_seconds: float = 30.0) -> None:
        if not is_postgres_url(url):
            raise ConfigError("ledger.url: expected a postgresql:// URL")
        self.url = url
        super().__init__(url, timeout_seconds)

    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> Any:
        return PgConnection(str(location), timeout_seconds)


def open_ledger(
    location: str | Path, clock: Clock | None = None, schema_version: int = LATEST_VERSION
) -> SqliteLedger:
    """The ledger at ``location``: a ``postgresql://`` URL, or the path of a SQLite file."""
    if is_postgres_url(location):
        return PostgresLedger(str(location), clock, schema_version=schema_version)
    return SqliteLedger(location, clock, schema_version=schema_version)
