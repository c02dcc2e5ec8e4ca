"""``SqliteLedger``: the ``Ledger`` port on SQLite (WAL journal, ``synchronous=FULL``).

Every write runs in one ``BEGIN IMMEDIATE`` transaction, which takes the database's write lock
up front: concurrent writers (threads with their own ledger, or other processes opening the same
file) queue on the busy timeout instead of interleaving, and a check-then-insert such as the
once-per-day guard is atomic. A committed transaction is on disk (full sync) before the call
returns, so a crash loses nothing that was acknowledged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from adapters.ledger import codec
from adapters.ledger.base import LedgerBase
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Fill,
    Money,
    Order,
    OrderStatus,
    Position,
    Price,
)
from core.ports.ledger import (
    NOT_RECEIVED_BY_BROKER,
    GuardKey,
    Reservation,
    ReservationOutcome,
)

_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.ACCEPTED: 2,
    OrderStatus.PARTIALLY_FILLED: 3,
}
_TERMINAL_RANK = 4
_NOT_A_TRADE = tuple(s.value for s in OrderStatus if not s.counts_as_trade)


def _rank(status: OrderStatus) -> int:
    return _RANK.get(status, _TERMINAL_RANK)


def advances(old: Order, new: Order) -> bool:
    """Whether ``new`` is a later state of ``old`` (events may arrive late, twice or reordered)."""
    if old.status.is_terminal:
        return False
    if _rank(new.status) != _rank(old.status):
        return _rank(new.status) > _rank(old.status)
    if new.filled_quantity != old.filled_quantity:
        return new.filled_quantity > old.filled_quantity
    if new.broker_order_id is not None and old.broker_order_id is None:
        return True
    return new.updated_at is not None and (old.updated_at is None or new.updated_at > old.updated_at)


class SqliteLedger(LedgerBase):
    """A ledger file that several threads (one instance each, or shared) and processes may open."""

    # -- orders ----------------------------------------------------------------------------
    def _order_row(self, conn: sqlite3.Connection, cid: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM orders WHERE client_order_id = ?", (cid,)
        ).fetchone()
        return row

    def _log_order(self, conn: sqlite3.Connection, order: Order, detail: str) -> None:
        self._insert_seq(
            conn,
            "order_events",
            "id",
            {
                "client_order_id": str(order.client_order_id),
                "ts": self._now(),
                "status": order.status.value,
                "filled_quantity": codec.dec_text(order.filled_quantity),
                "reason": order.reason,
                "detail": detail,
            },
        )
        payload = {
            "client_order_id": str(order.client_order_id),
            "status": order.status.value,
            "filled_quantity": codec.dec_text(order.filled_quantity),
            "reason": order.reason,
            "detail": detail,
        }
        self._append_event(conn, f"order.{detail}", payload, order.account_id)

    def reserve(self, order: Order, session: date, guard: bool = False) -> Reservation:
        cid = str(order.client_order_id)
        with self._write() as conn:
            existing = self._order_row(conn, cid)
            if existing is not None:
                known = codec.order_from_row(existing)
                if not (known.status is OrderStatus.REJECTED and known.reason == NOT_RECEIVED_BY_BROKER):
                    return Reservation(ReservationOutcome.EXISTS, known)
            if guard:
                holder = self._live_trade(conn, order, session)
                if holder is not None:
                    return Reservation(ReservationOutcome.GUARD_HELD, holder)
            row = codec.order_to_row(order) | {"session": session.isoformat()}
            row |= {"status": OrderStatus.PENDING.value, "reason": ""}
            if existing is not None:
                conn.execute("DELETE FROM orders WHERE client_order_id = ?", (cid,))
            self._insert(conn, "orders", row)
            if guard:
                conn.execute(
                    "INSERT INTO guards (account_id, strategy, session, client_order_id, acquired_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, strategy, session)"
                    " DO UPDATE SET client_order_id = excluded.client_order_id,"
                    " acquired_at = excluded.acquired_at",
                    (row["account_id"], row["strategy"], row["session"], cid, self._now()),
                )
            recorded = codec.order_from_row(row)
            outcome = ReservationOutcome.RESERVED if existing is None else ReservationOutcome.REARMED
            self._log_order(conn, recorded, outcome.value)
            return Reservation(outcome, recorded)

    def _live_trade(self, conn: sqlite3.Connection, order: Order, session: date) -> Order | None:
        """The order holding the guard of ``order``'s strategy and session, if it still counts.

        Only orders placed under the guard count (entries): an exit of the same strategy does not
        use up the day's trade.
        """
        marks = ", ".join("?" for _ in _NOT_A_TRADE)
        row = conn.execute(
            "SELECT o.* FROM guards g JOIN orders o ON o.client_order_id = g.client_order_id"
            " WHERE g.account_id = ? AND g.strategy = ? AND g.session = ?"
            f" AND o.client_order_id <> ? AND o.status NOT IN ({marks})",
            (
                str(order.account_id),
                None if order.strategy is None else str(order.strategy),
                session.isoformat(),
                str(order.client_order_id),
                *_NOT_A_TRADE,
            ),
        ).fetchone()
        return None if row is None else codec.order_from_row(row)

    def guard_holder(self, key: GuardKey) -> Order | None:
        marks = ", ".join("?" for _ in _NOT_A_TRADE)
        rows = self._read(
            "SELECT o.* FROM guards g JOIN orders o ON o.client_order_id = g.client_order_id"
            " WHERE g.account_id = ? AND g.strategy = ? AND g.session = ?"
            f" AND o.status NOT IN ({marks})",
            (str(key.account_id), str(key.strategy), key.session.isoformat(), *_NOT_A_TRADE),
        )
        return codec.order_from_row(rows[0]) if rows else None

    def record_order(self, order: Order) -> bool:
        cid = str(order.client_order_id)
        # Repeated broker events (an ack already recorded, say) are common: a plain read settles
        # them without taking the write lock. States only advance, so "not newer" stays true.
        known = self._read("SELECT * FROM orders WHERE client_order_id = ?", (cid,))
        if known and not advances(codec.order_from_row(known[0]), order):
            return False
        with self._write() as conn:
            existing = self._order_row(conn, cid)
            row = codec.order_to_row(order)
            if existing is None:
                self._insert(conn, "orders", row | {"session": None})
                self._log_order(conn, order, "adopted")
                return True
            old = codec.order_from_row(existing)
            if not advances(old, order):
                return False
            if row["strategy"] is None:
                row["strategy"] = existing["strategy"]
            sets = ", ".join(f"{col} = ?" for col in row if col != "client_order_id")
            values = [v for col, v in row.items() if col != "client_order_id"]
            conn.execute(f"UPDATE orders SET {sets} WHERE client_order_id = ?", (*values, cid))
            self._log_order(conn, order, "updated")
            return True

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        rows = self._read("SELECT * FROM orders WHERE client_order_id = ?", (str(client_order_id),))
        return codec.order_from_row(rows[0]) if rows else None

    def orders(self, account_id: AccountId, statuses: Iterable[OrderStatus] | None = None) -> list[Order]:
        sql, params = "SELECT * FROM orders WHERE account_id = ?", [str(account_id)]
        if statuses is not None:
            wanted = [s.value for s in statuses]
            if not wanted:
                return []
            sql += f" AND status IN ({', '.join('?' for _ in wanted)})"
            params += wanted
        return [codec.order_from_row(r) for r in self._read(sql + " ORDER BY created_at", params)]

    # -- fills and positions ---------------------------------------------------------------
    def record_fill(self, fill: Fill) -> bool:
        row = codec.fill_to_row(fill)
        with self._write() as conn:
            seq = self._next(conn, "fills", "seq")
            cols = ", ".join(["seq", *row])
            marks = ", ".join("?" for _ in range(len(row) + 1))
            cur = conn.execute(
                f"INSERT INTO fills ({cols}) VALUES ({marks}) ON CONFLICT (fill_id) DO NOTHING",
                (seq, *row.values()),
            )
            if cur.rowcount == 0:
                return False
            self._apply_to_position(conn, fill)
            payload = {k: row[k] for k in ("fill_id", "client_order_id", "instrument_id", "side", "quantity")}
            self._append_event(conn, "fill", payload | {"price": row["price"]}, fill.account_id)
            return True

    def _apply_to_position(self, conn: sqlite3.Connection, fill: Fill) -> None:
        key = (str(fill.account_id), str(fill.instrument.id))
        current = conn.execute(
            "SELECT * FROM positions WHERE account_id = ? AND instrument_id = ?", key
        ).fetchone()
        position = Position.flat(fill.account_id, fill.instrument)
        if current is not None:
            position = _position_from_row(current)
        position = position.apply(fill)
        conn.execute("DELETE FROM positions WHERE account_id = ? AND instrument_id = ?", key)
        self._insert(
            conn,
            "positions",
            {
                "account_id": key[0],
                "instrument_id": key[1],
                "instrument": codec.dumps(codec.instrument_to_dict(fill.instrument)),
                "net": codec.dec_text(position.net),
                "avg_price": codec.dec_text(position.avg_price),
                "realized_pnl": codec.dec_text(position.realized_pnl.amount),
                "currency": position.realized_pnl.currency,
                "updated_at": codec.ts_text(fill.ts),
            },
        )

    def fills(self, account_id: AccountId) -> list[Fill]:
        rows = self._read("SELECT * FROM fills WHERE account_id = ? ORDER BY seq", (str(account_id),))
        return [codec.fill_from_row(r) for r in rows]

    def positions(self, account_id: AccountId) -> list[Position]:
        rows = self._read(
            "SELECT * FROM positions WHERE account_id = ? ORDER BY instrument_id", (str(account_id),)
        )
        return [_position_from_row(r) for r in rows]

    # -- balances --------------------------------------------------------------------------
    def record_balance(self, balance: AccountBalance) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM balances WHERE account_id = ?", (str(balance.account_id),))
            self._insert(
                conn,
                "balances",
                {
                    "account_id": str(balance.account_id),
                    "cash": codec.dec_text(balance.cash.amount),
                    "buying_power": codec.dec_text(balance.buying_power.amount),
                    "equity": codec.dec_text(balance.equity.amount),
                    "currency": balance.cash.currency,
                    "ts": codec.ts_text(balance.ts),
                },
            )

    def balance(self, account_id: AccountId) -> AccountBalance | None:
        rows = self._read("SELECT * FROM balances WHERE account_id = ?", (str(account_id),))
        if not rows:
            return None
        r = rows[0]
        return AccountBalance(
            account_id=AccountId(r["account_id"]),
            cash=Money(r["cash"], r["currency"]),
            buying_power=Money(r["buying_power"], r["currency"]),
            equity=Money(r["equity"], r["currency"]),
            ts=codec.ts_parse(r["ts"]),
        )


def _position_from_row(row: codec.Row) -> Position:
    return Position(
        account_id=AccountId(row["account_id"]),
        instrument=codec.instrument_from_dict(codec.loads(row["instrument"])),
        net=Decimal(row["net"]),
        avg_price=Price(row["avg_price"]),
        realized_pnl=Money(row["realized_pnl"], row["currency"]),
    )
