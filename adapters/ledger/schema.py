"""The ledger schema as ordered, versioned migrations.

The SQL is portable to PostgreSQL: no ``WITHOUT ROWID``, no ``AUTOINCREMENT``, no ``INSERT OR``.
Sequence-like keys (``events.seq``, ``order_events.id`` ...) are plain ``INTEGER PRIMARY KEY``
columns that the ledger assigns itself (``MAX + 1`` inside the writing transaction), so neither
SQLite's rowid aliasing nor a PostgreSQL sequence is relied on. Decimals are TEXT, timestamps are
ISO-8601 UTC TEXT of fixed width, structured values (legs, payloads) are JSON TEXT.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""

_V1 = Migration(
    1,
    "orders, order events, fills, positions, balances, event log",
    (
        """
        CREATE TABLE orders (
            client_order_id TEXT NOT NULL PRIMARY KEY,
            account_id TEXT NOT NULL,
            strategy TEXT,
            session TEXT,
            status TEXT NOT NULL,
            order_type TEXT NOT NULL,
            time_in_force TEXT NOT NULL,
            quantity TEXT NOT NULL,
            filled_quantity TEXT NOT NULL,
            limit_price TEXT,
            stop_price TEXT,
            price_effect TEXT,
            avg_fill_price TEXT,
            broker_order_id TEXT,
            reason TEXT NOT NULL,
            legs TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT
        )
        """,
        "CREATE INDEX orders_by_account_status ON orders (account_id, status)",
        "CREATE INDEX orders_by_strategy_session ON orders (account_id, strategy, session)",
        """
        CREATE TABLE order_events (
            id INTEGER NOT NULL PRIMARY KEY,
            client_order_id TEXT NOT NULL,
            ts TEXT NOT NULL,
            status TEXT NOT NULL,
            filled_quantity TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL
        )
        """,
        "CREATE INDEX order_events_by_order ON order_events (client_order_id)",
        """
        CREATE TABLE fills (
            seq INTEGER NOT NULL PRIMARY KEY,
            fill_id TEXT NOT NULL UNIQUE,
            client_order_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            instrument_id TEXT NOT NULL,
            instrument TEXT NOT NULL,
            side TEXT NOT NULL,
            quantity TEXT NOT NULL,
            price TEXT NOT NULL,
            commission TEXT NOT NULL,
            currency TEXT NOT NULL,
            ts TEXT NOT NULL,
            broker_order_id TEXT
        )
        """,
        "CREATE INDEX fills_by_account ON fills (account_id, seq)",
        """
        CREATE TABLE positions (
            account_id TEXT NOT NULL,
            instrument_id TEXT NOT NULL,
            instrument TEXT NOT NULL,
            net TEXT NOT NULL,
            avg_price TEXT NOT NULL,
            realized_pnl TEXT NOT NULL,
            currency TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, instrument_id)
        )
        """,
        """
        CREATE TABLE balances (
            account_id TEXT NOT NULL PRIMARY KEY,
            cash TEXT NOT NULL,
            buying_power TEXT NOT NULL,
            equity TEXT NOT NULL,
            currency TEXT NOT NULL,
            ts TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE events (
            seq INTEGER NOT NULL PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            account_id TEXT,
            payload TEXT NOT NULL
        )
        """,
        "CREATE INDEX events_by_account_kind ON events (account_id, kind, seq)",
    ),
)

_V2 = Migration(
    2,
    "once-per-day guards, risk denials, reconciliation discrepancies, snapshots",
    (
        """
        CREATE TABLE guards (
            account_id TEXT NOT NULL,
            strategy TEXT NOT NULL,
            session TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            acquired_at TEXT NOT NULL,
            PRIMARY KEY (account_id, strategy, session)
        )
        """,
        # Orders written before guards existed held the day's guard: the first live one of each
        # strategy and session keeps holding it (later guarded reserves see it, exits never do).
        """
        INSERT INTO guards (account_id, strategy, session, client_order_id, acquired_at)
        SELECT o.account_id, o.strategy, o.session, o.client_order_id, o.created_at
        FROM orders o
        WHERE o.session IS NOT NULL AND o.strategy IS NOT NULL AND o.client_order_id = (
            SELECT o2.client_order_id FROM orders o2
            WHERE o2.account_id = o.account_id AND o2.strategy = o.strategy AND o2.session = o.session
            ORDER BY CASE WHEN o2.status IN ('cancelled', 'rejected', 'expired') THEN 1 ELSE 0 END,
                o2.created_at, o2.client_order_id
            LIMIT 1
        )
        """,
        """
        CREATE TABLE denials (
            id INTEGER NOT NULL PRIMARY KEY,
            account_id TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            strategy TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            ts TEXT NOT NULL
        )
        """,
        "CREATE INDEX denials_by_account ON denials (account_id, id)",
        """
        CREATE TABLE discrepancies (
            id INTEGER NOT NULL PRIMARY KEY,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            ledger_value TEXT NOT NULL,
            broker_value TEXT NOT NULL,
            detail TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            acknowledged INTEGER NOT NULL DEFAULT 0,
            acknowledged_by TEXT,
            acknowledged_at TEXT,
            resolved_at TEXT
        )
        """,
        "CREATE INDEX discrepancies_by_account ON discrepancies (account_id, resolved_at, acknowledged)",
        """
        CREATE TABLE snapshots (
            id INTEGER NOT NULL PRIMARY KEY,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('entry', 'daily', 'exit')),
            ts TEXT NOT NULL,
            payload TEXT NOT NULL
        )
        """,
        "CREATE INDEX snapshots_by_account_kind ON snapshots (account_id, kind, ts)",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)
LATEST_VERSION = MIGRATIONS[-1].version
