"""``SimMarketData``: the ``MarketData`` port over frames and quotes it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import polars as pl

from adapters.brokers.sim.exchange import SimExchange
from core.model import InstrumentId, OptionQuote, Quote

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

    def set_option_chain(self, underlying: str, quotes: list[OptionQuote]) -> None:
        self._chains[underlying] = list(quotes)

    def option_chain(self, underlying: str, at: datetime) -> list[OptionQuote]:
        if self._chain_source is not None:
            return self._chain_source(underlying, at)
        return list(self._chains.get(underlying, []))
