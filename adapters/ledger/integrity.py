"""``integrity_problems``: what is wrong with a SQLite ledger file (empty list: nothing).

SQLite's own ``PRAGMA integrity_check``, fills whose order the ledger does not know, and every
position's net quantity against the sum of its fills.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from contextlib import closing
from decimal import Decimal
from pathlib import Path

__all__ = ["integrity_problems"]


def integrity_problems(path: Path) -> list[str]:
    """Read-only checks of the ledger at ``path``; never writes to it."""
    if not path.is_file():
        return [f"no ledger file at {path}"]
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)) as conn:
            return _problems(conn)
    except sqlite3.DatabaseError as exc:
        return [f"not a readable SQLite database: {exc}"]


def _problems(conn: sqlite3.Connection) -> list[str]:
    problems = [f"sqlite: {row[0]}" for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    if problems:
        return problems
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"orders", "fills", "positions"} <= tables:
        return ["not a raydesk ledger (orders, fills or positions table missing)"]
    orphans = conn.execute(
        "SELECT COUNT(*) FROM fills f LEFT JOIN orders o ON o.client_order_id = f.client_order_id"
        " WHERE o.client_order_id IS NULL"
    ).fetchone()[0]
    if orphans:
        problems.append(f"{orphans} fill(s) of orders the ledger does not have")
    from_fills: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for account, instrument, side, quantity in conn.execute(
        "SELECT account_id, instrument_id, side, quantity FROM fills"
    ):
        from_fills[(account, instrument)] += Decimal(quantity) * (1 if side == "buy" else -1)
    stored = {
        (account, instrument): Decimal(net)
        for account, instrument, net in conn.execute("SELECT account_id, instrument_id, net FROM positions")
    }
    for key in sorted(set(from_fills) | set(stored)):
        expected, held = from_fills.get(key, Decimal(0)), stored.get(key, Decimal(0))
        if expected != held:
            problems.append(f"position {key[0]} {key[1]}: net {held} but fills sum to {expected}")
    return problems
