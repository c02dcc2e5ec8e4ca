"""``SqlitePurger``: delete every ledger row of one account (the ``delete`` override).

Implements ``core.trading.AccountPurger``; proposed for the ``Ledger`` port as
``purge_account``. One ``BEGIN IMMEDIATE`` transaction on the ledger's file, so a concurrent
writer waits and a crash deletes all or nothing. Rows without an account (the desk's own
events, the ``account.deleted`` tombstone, task runs) are kept.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from core.model import AccountId

# Child tables first: order_events reference orders by client order id.
_TABLES: Final = (
    "guards",
    "denials",
    "discrepancies",
    "snapshots",
    "fills",
    "positions",
    "balances",
    "events",
    "orders",
)


class SqlitePurger:
    """Purges accounts from the SQLite ledger at ``path``."""

    def __init__(self, path: str | Path, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self._timeout = timeout_seconds

    def purge_account(self, account_id: AccountId) -> dict[str, int]:
        """Delete the account's rows; returns the rows deleted per table."""
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = {
                    "order_events": conn.execute(
                        "DELETE FROM order_events WHERE client_order_id IN"
                        " (SELECT client_order_id FROM orders WHERE account_id = ?)",
                        (str(account_id),),
                    ).rowcount
                }
                for table in _TABLES:
                    cur = conn.execute(f"DELETE FROM {table} WHERE account_id = ?", (str(account_id),))
                    counts[table] = cur.rowcount
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return counts
        finally:
            conn.close()
