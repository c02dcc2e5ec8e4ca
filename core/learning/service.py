"""``SnapshotService``: records entry, daily and exit snapshots of trades in the ledger.

Trades are found from the ledger's own snapshots (an entry without an exit is open), so a
restarted actor picks up where it left off. Every payload carries a deterministic ``key``;
a key already in the ledger is never written again, so replays and re-runs are harmless.
Intraday marks given to ``observe`` live in memory only: after a restart the excursions rest
on the daily snapshots (and the exit) alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.calendar import MarketCalendar
from core.clock import Clock
from core.learning.accounting import Book, build_book
from core.learning.context import EntryContext, Mark, MarketContextProvider, NoMarketContext
from core.learning.payloads import (
    TradeRecord,
    daily_payload,
    entry_payload,
    exit_payload,
    mark_prices,
)
from core.learning.technicals import NoTechnicals, TechnicalsProvider
from core.model import AccountId, Fill, OrderLeg, Position
from core.ports.ledger import Ledger, SnapshotKind


@dataclass(slots=True)
class _AccountState:
    keys: set[str] = field(default_factory=set)
    open: dict[str, TradeRecord] = field(default_factory=dict)
    path: dict[str, list[float]] = field(default_factory=dict)
    last_marks: dict[str, dict[str, Mark]] = field(default_factory=dict)


class SnapshotService:
    """Writes learning snapshots; see ``docs/learning-snapshots.md`` for every field.

    One instance per account actor (it caches the account's open trades and snapshot keys).
    """

    def __init__(
        self,
        ledger: Ledger,
        clock: Clock,
        context_provider: MarketContextProvider | None = None,
        calendar: MarketCalendar | None = None,
        technicals: TechnicalsProvider | None = None,
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.context_provider: MarketContextProvider = context_provider or NoMarketContext()
        self.calendar = calendar or MarketCalendar()
        self.technicals: TechnicalsProvider = technicals or NoTechnicals()
        self._accounts: dict[str, _AccountState] = {}

    # -- state -------------------------------------------------------------------------------
    def _state(self, account: AccountId) -> _AccountState:
        state = self._accounts.get(str(account))
        if state is None:
            state = _AccountState()
            closed: set[str] = set()
            entries: list[Mapping[str, Any]] = []
            for snap in self.ledger.snapshots(account):
                state.keys.add(str(snap.payload.get("key")))
                if snap.kind is SnapshotKind.EXIT:
                    closed.add(str(snap.payload.get("trade_id")))
                elif snap.kind is SnapshotKind.ENTRY:
                    entries.append(snap.payload)
            for payload in entries:
                if payload["trade_id"] not in closed:
                    record = TradeRecord.from_payload(payload)
                    state.open[record.trade_id] = record
            self._accounts[str(account)] = state
        return state

    def open_trades(self, account: AccountId) -> list[TradeRecord]:
        """The account's open trades, oldest first."""
        return sorted(self._state(account).open.values(), key=lambda t: (t.entry_ts, t.trade_id))

    def _write(
        self, account: AccountId, kind: SnapshotKind, ts: datetime, payload: dict[str, Any]
    ) -> int | None:
        state = self._state(account)
        if payload["key"] in state.keys:
            return None
        sid = self.ledger.record_snapshot(account, kind, ts, payload)
        state.keys.add(payload["key"])
        return sid

    def _book(self, trade: TradeRecord, extra: Fill | None = None) -> Book:
        fills = self.ledger.fills(AccountId(trade.account))
        if extra is not None and all(f.fill_id != extra.fill_id for f in fills):
            fills.append(extra)
        return build_book(
            fills, trade.entry_fill_id, trade.entry_fill_quantity, trade.instrument_ids, trade.group
        )

    def _trade_of(self, account: AccountId, fill: Fill) -> TradeRecord | None:
        iid, group = str(fill.instrument.id), str(fill.client_order_id)
        for trade in self.open_trades(account):
            if iid in trade.instrument_ids or group == trade.group:
                return trade
        return None

    # -- fills -------------------------------------------------------------------------------
    def on_fill(
        self,
        fill: Fill,
        position_before: Position,
        position_after: Position,
        context: EntryContext | None = None,
    ) -> list[int]:
        """Record the exit and/or entry snapshot ``fill`` causes; returns the new snapshot ids.

        Call it after the ledger recorded ``fill``, with the position of its instrument just
        before and after. A fill from flat opens a trade (unless it is another leg of an open
        trade's opening order); a fill that leaves every leg of a trade flat closes it; a fill
        that flips the position does both. ``context`` describes the entry (or the exit marks).
        """
        account = fill.account_id
        before, after = position_before.net, position_after.net
        written: list[int] = []
        reduces = before != 0 and (after == 0 or (after > 0) != (before > 0) or abs(after) < abs(before))
        if reduces:
            trade = self._trade_of(account, fill)
            if trade is not None:
                sid = self._maybe_exit(trade, fill, context)
                if sid is not None:
                    written.append(sid)
        opens = after != 0 and (before == 0 or (after > 0) != (before > 0))
        if opens:
            sid = self._maybe_entry(fill, Decimal(abs(after)), context)
            if sid is not None:
                written.append(sid)
        return written

    def _maybe_entry(self, fill: Fill, quantity: Decimal, context: EntryContext | None) -> int | None:
        account = fill.account_id
        state = self._state(account)
        group = str(fill.client_order_id)
        if any(t.group == group for t in state.open.values()):
            return None  # another leg (or a partial fill) of an open trade's opening order
        declared = context.legs if context is not None else ()
        legs = declared if any(leg.instrument == fill.instrument for leg in declared) else ()
        legs = legs or (OrderLeg(fill.instrument, fill.side),)
        name = str(fill.instrument.id) if len(legs) == 1 else f"{legs[0].instrument.underlying}:{group}"
        trade_id = f"{account}|{name}|{fill.fill_id}"
        market = self.context_provider.market_context(fill.ts)
        technicals = self.technicals.technicals(legs[0].instrument.underlying, fill.ts)
        payload = entry_payload(trade_id, fill, quantity, legs, context, market, self.calendar, technicals)
        sid = self._write(account, SnapshotKind.ENTRY, fill.ts, payload)
        if sid is not None:
            state.open[trade_id] = TradeRecord.from_payload(payload)
        return sid

    def _maybe_exit(self, trade: TradeRecord, fill: Fill, context: EntryContext | None) -> int | None:
        book = self._book(trade, extra=fill)
        if not book.is_flat:
            return None
        account = AccountId(trade.account)
        state = self._state(account)
        path = [
            float(s.payload["pnl"])
            for s in self.ledger.snapshots(account, SnapshotKind.DAILY)
            if s.payload.get("trade_id") == trade.trade_id and s.payload.get("pnl") is not None
        ]
        path += state.path.get(trade.trade_id, [])
        marks = dict(context.quotes) if context is not None and context.quotes else {}
        marks = marks or state.last_marks.get(trade.trade_id, {})
        payload = exit_payload(trade, book, fill, path, marks)
        sid = self._write(account, SnapshotKind.EXIT, fill.ts, payload)
        state.open.pop(trade.trade_id, None)
        state.path.pop(trade.trade_id, None)
        state.last_marks.pop(trade.trade_id, None)
        return sid

    # -- marks -------------------------------------------------------------------------------
    def observe(self, account: AccountId, marks: Mapping[str, Mark]) -> int:
        """Note intraday marks for the excursions of open trades; returns how many were marked."""
        state = self._state(account)
        marks = {str(k): v for k, v in marks.items()}
        prices = mark_prices(marks)
        count = 0
        for trade in self.open_trades(account):
            pnl = self._book(trade).pnl(prices)
            if pnl is None:
                continue
            state.path.setdefault(trade.trade_id, []).append(float(pnl))
            known = state.last_marks.setdefault(trade.trade_id, {})
            known.update(
                {
                    k: v
                    for k, v in marks.items()
                    if k in trade.instrument_ids or k == trade.legs[0].instrument.underlying
                }
            )
            count += 1
        return count

    def daily(self, account: AccountId, now: datetime, marks: Mapping[str, Mark]) -> list[int]:
        """Record today's snapshot of every open trade (once per trade and session)."""
        marks = {str(k): v for k, v in marks.items()}
        written: list[int] = []
        for trade in self.open_trades(account):
            book = self._book(trade)
            if book.is_flat:
                continue
            payload = daily_payload(trade, book, now, marks)
            sid = self._write(account, SnapshotKind.DAILY, now, payload)
            if sid is not None:
                written.append(sid)
        return written
