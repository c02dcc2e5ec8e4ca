"""``SimMarketData``: the ``MarketData`` port over frames and quotes it is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

import polars as pl

from adapters.brokers.sim.exchange import SimExchange
from core.model import InstrumentId, OptionContract, OptionQuote, Quote
from core.ports.market_data import FeedStatus, MarketUpdate

ChainSource = Callable[[str, datetime], list[OptionQuote]]


class SimMarketData:
    """History from a bar frame, latest quotes from the exchange, chains from a source.

    * ``bars``: a frame in the store's bar schema (symbol, ts, open, high, low, close, volume...).
    * ``exchange``: latest quotes are those the exchange last matched against.
    * ``chain_source``: e.g. ``SyntheticMarket.option_chain``; otherwise chains set with
      ``set_option_chain`` are returned as they are.
    """

    def __init__(
        self,
        bars: pl.DataFrame | None = None,
        exchange: SimExchange | None = None,
        chain_source: ChainSource | None = None,
    ) -> None:
        self._bars = bars
        self._exchange = exchange
        self._chain_source = chain_source
        self._quotes: dict[InstrumentId, Quote] = {}
        self._chains: dict[str, list[OptionQuote]] = {}
        self._subscribed: set[InstrumentId] = set()
        self._polled: dict[InstrumentId, Quote] = {}
        self._last_message: datetime | None = None
        self._closed = False

    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Bars of ``symbols`` with ``start <= ts < end``, sorted by symbol then time.

        The frame holds one timeframe; ``timeframe`` is not resampled.
        """
        if self._bars is None:
            return pl.DataFrame()
        frame = self._bars.filter(
            pl.col("symbol").is_in(symbols) & (pl.col("ts") >= start) & (pl.col("ts") < end)
        )
        return frame.sort(["symbol", "ts"])

    def update_quote(self, quote: Quote) -> None:
        """Record a quote (used when there is no exchange to ask)."""
        self._quotes[quote.instrument_id] = quote

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        mine = self._quotes.get(instrument_id)
        venue = self._exchange.last_quote(instrument_id) if self._exchange else None
        if mine is None or venue is None:
            return mine or venue
        return mine if mine.ts > venue.ts else venue

    # -- streaming: the quotes the exchange last matched against, per subscribed instrument --
    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        self.subscribe_quotes([InstrumentId(s) for s in symbols])

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        self._subscribed.update(instrument_ids)

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        self._subscribed.difference_update(instrument_ids)

    def poll(self) -> MarketUpdate:
        """Quotes of subscribed instruments newer than the last poll's."""
        fresh: list[Quote] = []
        for iid in sorted(self._subscribed):
            quote = self.latest_quote(iid)
            if quote is not None and (seen := self._polled.get(iid)) != quote:
                fresh.append(quote)
                self._polled[iid] = quote
                self._last_message = quote.ts if seen is None or quote.ts > seen.ts else self._last_message
        return MarketUpdate(quotes=tuple(fresh))

    def status(self) -> FeedStatus:
        return FeedStatus(
            connected=not self._closed,
            healthy=not self._closed,
            last_message_at=self._last_message,
            subscriptions=len(self._subscribed),
        )

    # -- options: from the chain set for an underlying, or the chain source at the venue's now --
    def set_option_chain(self, underlying: str, quotes: list[OptionQuote]) -> None:
        self._chains[underlying] = list(quotes)

    def option_chain(self, underlying: str, at: datetime) -> list[OptionQuote]:
        if self._chain_source is not None:
            return self._chain_source(underlying, at)
        return list(self._chains.get(underlying, []))

    def _chain_now(self, underlying: str) -> list[OptionQuote]:
        if self._chain_source is not None and self._exchange is not None:
            return self._chain_source(underlying, self._exchange.clock.now())
        return list(self._chains.get(underlying, []))

    def expirations(self, underlying: str) -> list[date]:
        return sorted({q.contract.expiry for q in self._chain_now(underlying)})

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        return [q.contract for q in self._chain_now(underlying) if q.contract.expiry == expiration]

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        by_id: dict[InstrumentId, OptionQuote] = {}
        for underlying in {c.underlying for c in contracts}:
            by_id |= {q.contract.id: q for q in self._chain_now(underlying)}
        return [by_id[c.id] for c in contracts if c.id in by_id]

    def close(self) -> None:
        self._closed = True
