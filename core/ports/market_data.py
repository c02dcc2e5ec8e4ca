"""The ``MarketData`` port: what a broker's or vendor's market data offers the desk.

One adapter per source implements it: the synthetic market (simulated accounts, replays), and
each broker (Alpaca, Tastytrade's DXLink, Interactive Brokers). Callers never reach past it:
the options cycle takes its chains and option quotes here, the market-data actor its bars and
quotes.

* History is pulled (``history``); live data is pushed by the source and taken with ``poll``
  (everything received since the last call, oldest first), so an actor can drain it on its own
  schedule without a callback crossing threads.
* Subscriptions are declarative: ``subscribe_*`` adds to the wanted set; after a reconnect an
  adapter re-sends the whole set on its own (callers never resubscribe by hand).
* ``status`` tells whether data can be trusted now (connected, last message age, farm or feed
  health), for the watchdog, the health check and the risk engine's stale-data rule.
* Times are timezone-aware UTC; adapters that need "now" (a replayed market) take a ``Clock``.

Raise ``core.errors.TemporaryError`` subclasses for what a retry may fix (a dropped socket, a
rate limit), ``PermanentError`` subclasses for what it cannot (an unknown symbol, bad
credentials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import polars as pl

from core.messages import BarEvent
from core.model import InstrumentId
from core.model.instruments import OptionContract
from core.model.market import Bar, OptionQuote, Quote


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """What a source delivered since the previous ``poll``, each tuple oldest first."""

    bars: tuple[Bar, ...] = ()
    quotes: tuple[Quote, ...] = ()
    option_quotes: tuple[OptionQuote, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.bars or self.quotes or self.option_quotes)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Whether the data of a source can be trusted now.

    ``healthy`` is False while disconnected, while a watchdog waits for a silent feed to come
    back, or while the source itself reports a broken data farm; ``detail`` says which.
    """

    connected: bool
    healthy: bool
    last_message_at: datetime | None = None
    detail: str = ""
    reconnects: int = 0
    subscriptions: int = 0
    flags: tuple[str, ...] = field(default=())
    """Source-specific health flags, e.g. IB farm codes ("2103:usfarm") while they hold."""


@runtime_checkable
class MarketData(Protocol):
    """Bars, quotes, option chains and option quotes with greeks from one source."""

    # -- history --------------------------------------------------------------------------
    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Bars in the store's schema (symbol, ts, open, high, low, close, volume, ...).

        ``start <= ts < end``, sorted by symbol then time; pages are followed to the end.
        """
        ...

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        """The latest quote, or None if none is known. Callers check its age."""
        ...

    # -- streaming ------------------------------------------------------------------------
    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        """Deliver bars of ``symbols`` through ``poll`` from now on (idempotent)."""
        ...

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        """Deliver quotes (options: with greeks) of these instruments through ``poll`` (idempotent)."""
        ...

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        """Stop delivering bars and quotes of these instruments."""
        ...

    def poll(self) -> MarketUpdate:
        """Everything received since the previous call (empty when nothing came)."""
        ...

    def status(self) -> FeedStatus:
        """Connection and data health now."""
        ...

    # -- options --------------------------------------------------------------------------
    def expirations(self, underlying: str) -> list[date]:
        """Listed expirations of options on ``underlying``, soonest first."""
        ...

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        """Listed contracts of ``underlying`` expiring on ``expiration`` (puts and calls)."""
        ...

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        """The latest quotes with greeks of ``contracts`` that have one (subscribing as needed)."""
        ...

    def close(self) -> None:
        """Release connections and threads; the source delivers nothing afterwards."""
        ...


@runtime_checkable
class VenueFeed(Protocol):
    """The market a simulated venue fills on. The sim adapter feeds its exchange through this;
    an account at a real broker has none (the broker sees the market itself)."""

    def on_bars(self, event: BarEvent) -> None:
        """A bar event's quotes (newer than the venue's) and the bars of symbols without one."""
        ...

    def on_quotes(self, quotes: Sequence[Quote]) -> None:
        """Quotes of other instruments (option legs), matched as one snapshot."""
        ...
