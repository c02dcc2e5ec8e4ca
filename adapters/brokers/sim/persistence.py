"""Durable venue state in SQLite: what each mutating call changed, written in one transaction.

A reopened exchange sees every call either fully applied or not at all, whatever instant the
process was killed at: SQLite commits atomically. Only what changed is written (the orders,
accounts and prices a call touched, the fills it made), so a long run stays fast. With
``fsync`` (``synchronous=FULL``) commits also survive a power cut; without it they survive a
killed process, which is what the crash tests need.

Rows hold pickled domain objects: the file is for this exchange to reopen, not an interchange
format.
"""

from __future__ import annotations

import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.brokers.sim.state import STATE_VERSION, AccountState, VenueState, WorkingOrder
from core.errors import DataError
from core.model import AccountId, ClientOrderId, Fill, InstrumentId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instruments (id TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS prices (id TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    account_id TEXT NOT NULL, client_order_id TEXT NOT NULL, seq INTEGER NOT NULL, blob BLOB NOT NULL,
    PRIMARY KEY (account_id, client_order_id));
CREATE TABLE IF NOT EXISTS fills (seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL, blob BLOB NOT NULL);
"""


def _dump(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(slots=True)
class Changes:
    """What mutated since the last save."""

    instruments: set[InstrumentId] = field(default_factory=set)
    prices: set[InstrumentId] = field(default_factory=set)
    accounts: set[AccountId] = field(default_factory=set)
    orders: set[tuple[AccountId, ClientOrderId]] = field(default_factory=set)
    fills: list[tuple[int, Fill]] = field(default_factory=list)
    """New fills with their sequence numbers."""

    def clear(self) -> None:
        self.instruments.clear()
        self.prices.clear()
        self.accounts.clear()
        self.orders.clear()
        self.fills.clear()


class StateStore:
    """Reads a ``VenueState`` from, and writes its changes to, the SQLite file at ``path``."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = Path(path)
        existed = self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A broker simulator serves the exchange from its own thread; every touch of the
            # exchange is serialised there (``SimVenueFeed`` runs its feed through it), so the
            # connection may move between threads but is never used by two at once.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"cannot read simulated exchange state {self.path}: {exc}") from exc
        if row is None:
            if existed and self._has_rows():
                raise DataError(f"{self.path} has no simulated exchange state version")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(STATE_VERSION),))
        elif row[0] != str(STATE_VERSION):
            raise DataError(f"{self.path} holds state version {row[0]}, expected {STATE_VERSION}")

    def _has_rows(self) -> bool:
        return any(
            self._db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
            for t in ("instruments", "accounts", "orders", "fills")
        )

    def close(self) -> None:
        self._db.close()

    def load(self) -> VenueState:
        """The saved state (empty if nothing was saved yet)."""
        state = VenueState()
        try:
            for (blob,) in self._db.execute("SELECT blob FROM instruments ORDER BY rowid"):
                instrument = pickle.loads(blob)
                state.instruments[instrument.id] = instrument
            for iid, blob in self._db.execute("SELECT id, blob FROM prices ORDER BY rowid"):
                quote, mark = pickle.loads(blob)
                if quote is not None:
                    state.quotes[InstrumentId(iid)] = quote
                if mark is not None:
                    state.marks[InstrumentId(iid)] = mark
            for (blob,) in self._db.execute("SELECT blob FROM accounts ORDER BY rowid"):
                account_id, cash, margin, positions = pickle.loads(blob)
                state.accounts[account_id] = AccountState(account_id, cash, margin, positions)
            for (blob,) in self._db.execute("SELECT blob FROM orders ORDER BY seq"):
                working: WorkingOrder = pickle.loads(blob)
                order = working.order
                state.accounts[order.account_id].orders[order.client_order_id] = working
                if order.status.is_open:
                    state.working[(order.account_id, order.client_order_id)] = None
                state.order_seq = max(state.order_seq, working.seq)
            for seq, blob in self._db.execute("SELECT seq, blob FROM fills ORDER BY seq"):
                fill: Fill = pickle.loads(blob)
                state.accounts[fill.account_id].fills.append(fill)
                state.fill_seq = max(state.fill_seq, seq)
        except (sqlite3.DatabaseError, pickle.UnpicklingError, EOFError, AttributeError, KeyError) as exc:
            raise DataError(f"cannot read simulated exchange state {self.path}: {exc}") from exc
        return state

    def save(self, state: VenueState, changes: Changes) -> None:
        """Write ``changes`` of ``state`` in one transaction."""
        rows: list[tuple[str, list[tuple[Any, ...]]]] = [
            (
                "INSERT OR IGNORE INTO instruments VALUES (?, ?)",
                [(str(i), _dump(state.instruments[i])) for i in sorted(changes.instruments)],
            ),
            (
                "INSERT OR REPLACE INTO prices VALUES (?, ?)",
                [(str(i), _dump((state.quotes.get(i), state.marks.get(i)))) for i in sorted(changes.prices)],
            ),
            (
                "INSERT OR REPLACE INTO accounts VALUES (?, ?)",
                [(str(a), _dump(_account_row(state.accounts[a]))) for a in sorted(changes.accounts)],
            ),
            (
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                [
                    (str(a), str(c), w.seq, _dump(w))
                    for a, c in sorted(changes.orders)
                    for w in (state.accounts[a].orders[c],)
                ],
            ),
            (
                "INSERT INTO fills VALUES (?, ?, ?)",
                [(seq, str(f.account_id), _dump(f)) for seq, f in changes.fills],
            ),
        ]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in rows:
                if params:
                    self._db.executemany(sql, params)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


def _account_row(account: AccountState) -> tuple[object, ...]:
    return (account.account_id, account.cash, account.margin, account.positions)
