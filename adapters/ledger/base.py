"""The connection plumbing of ``SqliteLedger`` and its simpler records.

Denials, discrepancies, snapshots and the event log live here; orders, fills and positions in
``sqlite.py``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from adapters.ledger import codec
from adapters.ledger.connection import Transactions, connect
from adapters.ledger.migrations import migrate
from adapters.ledger.schema import LATEST_VERSION
from core.clock import Clock, LiveClock
from core.model import AccountId, ClientOrderId, StrategyId
from core.ports.ledger import Denial, Discrepancy, LedgerEvent, Snapshot, SnapshotKind


class LedgerBase:
    """Opens (and migrates) the file; runs every write in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(
        self,
        path: str | Path,
        clock: Clock | None = None,
        timeout_seconds: float = 30.0,
        schema_version: int = LATEST_VERSION,
    ) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or LiveClock()
        self._lock = threading.RLock()
        self._conn = self._open(path, timeout_seconds)
        self._transactions = Transactions(self._conn, self._lock)
        self.schema_version = migrate(self._conn, self._now(), schema_version)

    # -- plumbing --------------------------------------------------------------------------
    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> sqlite3.Connection:
        """The database connection (``PostgresLedger`` opens its own)."""
        return connect(Path(location), timeout_seconds)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transactions.transaction()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes inside share one transaction: one commit (one sync) at the end, none if it raises."""
        with self._transactions.transaction():
            yield

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _now(self) -> str:
        return codec.ts_text(self._clock.now())

    @staticmethod
    def _insert(conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))

    @staticmethod
    def _next(conn: sqlite3.Connection, table: str, key: str) -> int:
        # Assigned here, not by the database, so the SQL needs no AUTOINCREMENT or sequence; the
        # write lock held by BEGIN IMMEDIATE makes MAX + 1 race-free and the numbers gapless.
        row = conn.execute(f"SELECT COALESCE(MAX({key}), 0) + 1 FROM {table}").fetchone()
        return int(row[0])

    def _insert_seq(self, conn: sqlite3.Connection, table: str, key: str, row: Mapping[str, Any]) -> int:
        seq = self._next(conn, table, key)
        self._insert(conn, table, {key: seq, **row})
        return seq

    def _append_event(
        self,
        conn: sqlite3.Connection,
        kind: str,
        payload: Mapping[str, Any],
        account_id: AccountId | None,
    ) -> int:
        row = {
            "ts": self._now(),
            "kind": kind,
            "account_id": None if account_id is None else str(account_id),
            "payload": codec.dumps(dict(payload)),
        }
        return self._insert_seq(conn, "events", "seq", row)

    def pragma(self, name: str) -> Any:
        """The value of a PRAGMA on this connection (for checks and tests)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._read(f"PRAGMA {name}")[0][0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- event log -------------------------------------------------------------------------
    def append_event(self, kind: str, payload: Mapping[str, Any], account_id: AccountId | None = None) -> int:
        with self._write() as conn:
            return self._append_event(conn, kind, payload, account_id)

    def events(
        self,
        after_seq: int = 0,
        limit: int = 1000,
        account_id: AccountId | None = None,
        kind: str | None = None,
    ) -> list[LedgerEvent]:
        sql = "SELECT * FROM events WHERE seq > ?"
        params: list[object] = [after_seq]
        if account_id is not None:
            sql, params = sql + " AND account_id = ?", [*params, str(account_id)]
        if kind is not None:
            sql, params = sql + " AND kind = ?", [*params, kind]
        rows = self._read(sql + " ORDER BY seq LIMIT ?", [*params, limit])
        return [_event(r) for r in rows]

    def latest_event(self, account_id: AccountId, kind: str) -> LedgerEvent | None:
        rows = self._read(
            "SELECT * FROM events WHERE account_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
            (str(account_id), kind),
        )
        return _event(rows[0]) if rows else None

    # -- risk denials ----------------------------------------------------------------------
    def record_denial(self, denial: Denial) -> None:
        row = {
            "account_id": str(denial.account_id),
            "client_order_id": str(denial.client_order_id),
            "strategy": str(denial.strategy),
            "rule": denial.rule,
            "reason": denial.reason,
            "ts": codec.ts_text(denial.ts),
        }
        with self._write() as conn:
            self._insert_seq(conn, "denials", "id", row)
            self._append_event(conn, "risk.denied", row, denial.account_id)

    def denials(self, account_id: AccountId) -> list[Denial]:
        rows = self._read("SELECT * FROM denials WHERE account_id = ? ORDER BY id", (str(account_id),))
        return [
            Denial(
                account_id=AccountId(r["account_id"]),
                client_order_id=ClientOrderId(r["client_order_id"]),
                strategy=StrategyId(r["strategy"]),
                rule=r["rule"],
                reason=r["reason"],
                ts=codec.ts_parse(r["ts"]),
            )
            for r in rows
        ]

    # -- discrepancies ---------------------------------------------------------------------
    def record_discrepancy(
        self,
        account_id: AccountId,
        kind: str,
        subject: str,
        ledger_value: str,
        broker_value: str,
        detail: str = "",
    ) -> Discrepancy | None:
        now = self._now()
        with self._write() as conn:
            same = conn.execute(
                "SELECT id, ledger_value, broker_value FROM discrepancies WHERE account_id = ?"
                " AND kind = ? AND subject = ? AND resolved_at IS NULL",
                (str(account_id), kind, subject),
            ).fetchall()
            if any(r["ledger_value"] == ledger_value and r["broker_value"] == broker_value for r in same):
                return None
            # A changed difference supersedes the old one (even an acknowledged one): it blocks anew.
            for r in same:
                conn.execute("UPDATE discrepancies SET resolved_at = ? WHERE id = ?", (now, r["id"]))
            row = {
                "account_id": str(account_id),
                "kind": kind,
                "subject": subject,
                "ledger_value": ledger_value,
                "broker_value": broker_value,
                "detail": detail,
                "detected_at": now,
                "acknowledged": 0,
            }
            new_id = self._insert_seq(conn, "discrepancies", "id", row)
            self._append_event(conn, "reconcile.discrepancy", row | {"id": new_id}, account_id)
            found = conn.execute("SELECT * FROM discrepancies WHERE id = ?", (new_id,)).fetchone()
            return _discrepancy(found)

    def settle_discrepancies(self, account_id: AccountId, still_differing: Collection[str]) -> int:
        now = self._now()
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, subject FROM discrepancies WHERE account_id = ? AND resolved_at IS NULL",
                (str(account_id),),
            ).fetchall()
            settled = [r["id"] for r in rows if r["subject"] not in still_differing]
            for did in settled:
                conn.execute("UPDATE discrepancies SET resolved_at = ? WHERE id = ?", (now, did))
            if settled:
                self._append_event(conn, "reconcile.resolved", {"ids": settled}, account_id)
            return len(settled)

    def discrepancies(self, account_id: AccountId, open_only: bool = False) -> list[Discrepancy]:
        sql = "SELECT * FROM discrepancies WHERE account_id = ?"
        if open_only:
            sql += " AND acknowledged = 0 AND resolved_at IS NULL"
        return [_discrepancy(r) for r in self._read(sql + " ORDER BY id", (str(account_id),))]

    def has_open_discrepancies(self, account_id: AccountId) -> bool:
        rows = self._read(
            "SELECT 1 FROM discrepancies WHERE account_id = ? AND acknowledged = 0"
            " AND resolved_at IS NULL LIMIT 1",
            (str(account_id),),
        )
        return bool(rows)

    def acknowledge_discrepancies(self, account_id: AccountId, by: str) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE discrepancies SET acknowledged = 1, acknowledged_by = ?, acknowledged_at = ?"
                " WHERE account_id = ? AND acknowledged = 0 AND resolved_at IS NULL",
                (by, self._now(), str(account_id)),
            )
            count = cur.rowcount
            if count:
                self._append_event(conn, "reconcile.acknowledged", {"by": by, "count": count}, account_id)
            return count

    # -- snapshots -------------------------------------------------------------------------
    def record_snapshot(
        self, account_id: AccountId, kind: SnapshotKind, ts: datetime, payload: Mapping[str, Any]
    ) -> int:
        row = {
            "account_id": str(account_id),
            "kind": SnapshotKind(kind).value,
            "ts": codec.ts_text(ts),
            "payload": codec.dumps(dict(payload)),
        }
        with self._write() as conn:
            sid = self._insert_seq(conn, "snapshots", "id", row)
            self._append_event(conn, f"snapshot.{row['kind']}", {"id": sid}, account_id)
            return sid

    def snapshots(self, account_id: AccountId, kind: SnapshotKind | None = None) -> list[Snapshot]:
        sql, params = "SELECT * FROM snapshots WHERE account_id = ?", [str(account_id)]
        if kind is not None:
            sql, params = sql + " AND kind = ?", [*params, SnapshotKind(kind).value]
        return [
            Snapshot(
                id=r["id"],
                account_id=AccountId(r["account_id"]),
                kind=SnapshotKind(r["kind"]),
                ts=codec.ts_parse(r["ts"]),
                payload=codec.loads(r["payload"]),
            )
            for r in self._read(sql + " ORDER BY ts, id", params)
        ]


def _event(r: codec.Row) -> LedgerEvent:
    return LedgerEvent(
        seq=r["seq"],
        ts=codec.ts_parse(r["ts"]),
        kind=r["kind"],
        account_id=None if r["account_id"] is None else AccountId(r["account_id"]),
        payload=codec.loads(r["payload"]),
    )


def _discrepancy(r: codec.Row) -> Discrepancy:
    return Discrepancy(
        id=r["id"],
        account_id=AccountId(r["account_id"]),
        kind=r["kind"],
        subject=r["subject"],
        ledger_value=r["ledger_value"],
        broker_value=r["broker_value"],
        detail=r["detail"],
        detected_at=codec.ts_parse(r["detected_at"]),
        acknowledged_by=r["acknowledged_by"],
        acknowledged_at=codec.opt_ts_parse(r["acknowledged_at"]),
        resolved_at=codec.opt_ts_parse(r["resolved_at"]),
    )
