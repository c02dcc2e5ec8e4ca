"""Commands, events, reconciliation reports and the account kernel's messages.

All frozen: derive a new one, never edit one. The kernel's messages (``BarEvent`` in,
``LedgerRecorded``, ``FillsRecorded``, ``BarProcessed``, ``KernelFailed``, ``DailyFigures`` on
its bus) are published only after the ledger commit that makes them true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from core.clock import ensure_utc
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    Price,
    Quantity,
    Quote,
)


# -- commands -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubmitOrder:
    order: Order


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: ClientOrderId


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """Change the quantity and/or prices of a working order (the legs stay as they are)."""

    client_order_id: ClientOrderId
    quantity: Quantity | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None


# -- events ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """The broker changed an order: the event carries the order as it is now."""

    order: Order
    ts: datetime

    @property
    def status(self) -> OrderStatus:
        return self.order.status


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A fill of one leg of an order."""

    fill: Fill

    @property
    def ts(self) -> datetime:
        return self.fill.ts


ExecutionEvent = OrderUpdated | OrderFilled


# -- reconciliation -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PositionReport:
    """A position as the broker reports it: signed net quantity and average price."""

    instrument: Instrument
    net: Decimal
    avg_price: Price


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """Everything a broker knows about an account, to rebuild and check local state against."""

    account_id: AccountId
    ts: datetime
    open_orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    positions: tuple[PositionReport, ...]
    balance: AccountBalance
    orders: tuple[Order, ...] = field(default=())
    """Every order the broker has for this account since the report's ``since`` time."""


# -- the account kernel's messages ----------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def event_seq(at: datetime) -> int:
    """The sequence number of a bar event completing at ``at`` (epoch microseconds)."""
    return (ensure_utc(at) - _EPOCH) // timedelta(microseconds=1)


def seq_instant(seq: int) -> datetime:
    """The instant ``event_seq`` was computed from."""
    return _EPOCH + timedelta(microseconds=seq)


def quotes_of(bars: pl.DataFrame, at: datetime) -> tuple[Quote, ...]:
    """The bid/ask at each bar's close as quotes stamped ``at``; bars without a quote give none."""
    if "bid" not in bars.columns or "ask" not in bars.columns:
        return ()
    return tuple(
        Quote(Equity(symbol).id, Price(repr(bid)), Price(repr(ask)), at)
        for symbol, bid, ask in bars.select("symbol", "bid", "ask").iter_rows()
        if bid is not None and ask is not None
    )


@dataclass(frozen=True, slots=True)
class BarEvent:
    """Bars of ``timeframe`` complete at ``at`` (a minute bar starting at 09:30 completes at 09:31),
    with the quotes at their close, built once where the event is made.

    The bars travel as a polars frame (Ray pickles it through Arrow IPC, the fastest of the
    options measured). ``seq`` is the end instant in epoch microseconds: it increases along each
    timeframe's stream and is the same for a re-sent event, so an account recognises a retry.
    """

    seq: int
    at: datetime
    timeframe: str
    bars: pl.DataFrame
    quotes: tuple[Quote, ...] = ()

    @classmethod
    def of(cls, at: datetime, timeframe: str, bars: pl.DataFrame) -> BarEvent:
        """The event of ``bars``; minute bars carry their quotes (daily bars none: no venue fills on them)."""
        at = ensure_utc(at)
        quotes = quotes_of(bars, at) if timeframe != "1d" else ()
        return cls(event_seq(at), at, timeframe, bars, quotes)

    def only(self, symbols: frozenset[str]) -> BarEvent:
        """The part of this event about ``symbols``."""
        bars = self.bars.filter(pl.col("symbol").is_in(list(symbols)))
        quotes = tuple(q for q in self.quotes if str(q.instrument_id) in symbols)
        return BarEvent(self.seq, self.at, self.timeframe, bars, quotes)


@dataclass(frozen=True, slots=True)
class LedgerRecorded:
    """One ledger event of an account, published on the account's bus after its commit."""

    account_id: AccountId
    seq: int
    ts: datetime
    kind: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FillsRecorded:
    """The fills recorded in the ledger since the previous message (by fill id, in order)."""

    account_id: AccountId
    fill_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BarProcessed:
    """A bar event went through the account's bar cycle."""

    account_id: AccountId
    seq: int
    at: datetime
    timeframe: str
    status: str
    submitted: int
    fills: int
    latency_ms: tuple[float, ...]
    """Bar to submit, per order sent."""
    cycle_ms: float


@dataclass(frozen=True, slots=True)
class KernelFailed:
    """A step of the account kernel raised (the error is raised again to the caller)."""

    account_id: AccountId
    during: str
    error: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class DailyFigures:
    """The account's daily report (equity, P&L, fills, open positions, snapshots)."""

    account_id: AccountId
    ts: datetime
    figures: tuple[tuple[str, str], ...]
