"""``AlpacaMarketData``: the ``MarketData`` port over alpaca-py's stock data clients.

History through ``StockHistoricalDataClient`` (the SDK follows ``next_page_token`` to the end),
latest quotes through its latest-quote endpoint, live minute bars and quotes through one
``StockDataStream`` kept by a ``StreamLoop``: reconnects with back-off and jitter, re-sends the
whole subscription set on every connect, and a receive-side watchdog reconnects a socket that
stays silent for ``watchdog_seconds`` while something is subscribed and the market is open.
Options at Alpaca are out of scope (``capabilities.options`` is False): the option methods
return nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.stock import StockDataStream
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.parsing import bar_from_wire, quote_from_wire
from adapters.brokers.alpaca.rest import call
from adapters.brokers.alpaca.stream import StreamLoop
from adapters.store.schema import BAR_SCHEMA, empty_bars
from core.clock import Clock
from core.errors import DataError
from core.model import InstrumentId, OptionContract, OptionQuote, Quote
from core.model.market import Bar
from core.ports.market_data import FeedStatus, MarketUpdate

TIMEFRAMES: dict[str, TimeFrame] = {
    "1m": TimeFrame(1, TimeFrameUnit.Minute),
    "5m": TimeFrame(5, TimeFrameUnit.Minute),
    "15m": TimeFrame(15, TimeFrameUnit.Minute),
    "30m": TimeFrame(30, TimeFrameUnit.Minute),
    "1h": TimeFrame(1, TimeFrameUnit.Hour),
    "1d": TimeFrame(1, TimeFrameUnit.Day),
}


class _Subscribing:
    """One ``StockDataStream`` whose start also sends the subscription set (as the SDK's own
    loop does after connecting)."""

    def __init__(self, sdk: StockDataStream) -> None:
        self.sdk = sdk

    @property
    def _ws(self) -> Any:
        return self.sdk._ws

    async def _start_ws(self) -> None:
        await self.sdk._start_ws()
        await self.sdk._send_subscribe_msg()

    async def _consume(self) -> Any:
        return await self.sdk._consume()

    async def close(self) -> None:
        await self.sdk.close()


class AlpacaMarketData:
    """Bars and quotes of US equities from Alpaca (see the module docstring)."""

    def __init__(
        self,
        client: StockHistoricalDataClient,
        settings: AlpacaSettings,
        clock: Clock,
        in_session: Callable[[], bool] = lambda: True,
    ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._in_session = in_session
        self._lock = threading.Lock()
        self._bar_symbols: set[str] = set()
        self._quote_symbols: set[str] = set()
        self._bars: list[Bar] = []
        self._quotes: list[Quote] = []
        self._latest: dict[InstrumentId, Quote] = {}
        self._last_message_at: datetime | None = None
        self._current: _Subscribing | None = None
        self._closed = False
        self.stream = StreamLoop(
            "data",
            self._new_stream,
            connect_timeout=settings.connect_timeout,
            backoff_initial=settings.backoff_initial,
            backoff_max=settings.backoff_max,
            watchdog=settings.watchdog_seconds,
            watched=lambda: bool(self._bar_symbols or self._quote_symbols) and self._in_session(),
        )
        self._started = False

    # -- history --------------------------------------------------------------------------------
    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Bars with ``start <= ts < end`` in the store's schema, every page followed."""
        if timeframe not in TIMEFRAMES:
            raise DataError(f"timeframe {timeframe!r}: Alpaca bars come in {', '.join(TIMEFRAMES)}")
        if not symbols:
            return empty_bars()
        request = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TIMEFRAMES[timeframe],
            start=start,
            end=end,
            adjustment=Adjustment.RAW,
            feed=DataFeed(self._settings.feed),
        )
        raw: Any = call("bars", self._client.get_stock_bars, request)
        rows: list[dict[str, Any]] = []
        for symbol, bars in (raw or {}).items():
            for item in bars:
                bar = bar_from_wire(symbol, item)
                if start <= bar.ts < end:
                    rows.append({"symbol": symbol, "ts": bar.ts, "open": bar.open, "high": bar.high,
                                 "low": bar.low, "close": bar.close, "volume": bar.volume,
                                 "bid": None, "ask": None})  # fmt: skip
        if not rows:
            return empty_bars()
        return pl.DataFrame(rows, schema=BAR_SCHEMA).sort(["symbol", "ts"])

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        request = StockLatestQuoteRequest(
            symbol_or_symbols=[str(instrument_id)], feed=DataFeed(self._settings.feed)
        )
        raw: Any = call("latest quote", self._client.get_stock_latest_quote, request) or {}
        item: Any = raw.get(str(instrument_id))
        rest = quote_from_wire(str(instrument_id), item) if item else None
        with self._lock:
            streamed = self._latest.get(instrument_id)
        if rest is None or streamed is None:
            return rest or streamed
        return streamed if streamed.ts > rest.ts else rest

    # -- streaming ------------------------------------------------------------------------------
    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        if timeframe != "1m":
            raise DataError(f"timeframe {timeframe!r}: Alpaca streams 1m bars only")
        self._want(self._bar_symbols, symbols)

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        self._want(self._quote_symbols, [str(i) for i in instrument_ids])

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        names = {str(i) for i in instrument_ids}
        with self._lock:
            bars, quotes = names & self._bar_symbols, names & self._quote_symbols
            self._bar_symbols -= names
            self._quote_symbols -= names
        current = self._current
        if current is not None and self.stream.connected:
            for channel, gone in (("bars", bars), ("quotes", quotes)):
                for symbol in gone:
                    current.sdk._handlers[channel].pop(symbol, None)
                if gone:
                    self.stream.submit(current.sdk._send_unsubscribe_msg(channel, sorted(gone))).result(5)

    def _want(self, wanted: set[str], symbols: Sequence[str]) -> None:
        new = set(symbols) - wanted
        if not new:
            return
        with self._lock:
            wanted |= new
        if not self._started:
            self._started = True
            self.stream.start()
            return
        current = self._current
        if current is not None and self.stream.connected:
            self._register(current.sdk)
            self.stream.submit(current.sdk._send_subscribe_msg()).result(5)

    def poll(self) -> MarketUpdate:
        with self._lock:
            bars, self._bars = self._bars, []
            quotes, self._quotes = self._quotes, []
        return MarketUpdate(bars=tuple(bars), quotes=tuple(quotes))

    def status(self) -> FeedStatus:
        connected = self.stream.connected and not self._closed
        detail = "" if connected else (self.stream.last_error or "not connected")
        return FeedStatus(
            connected=connected,
            healthy=connected,
            last_message_at=self._last_message_at,
            detail=detail,
            reconnects=max(self.stream.connects - 1, 0),
            subscriptions=len(self._bar_symbols | self._quote_symbols),
            flags=(f"silences:{self.stream.silences}",) if self.stream.silences else (),
        )

    def sync(self) -> None:
        """Return once every message the data socket received has been dispatched."""
        self.stream.sync()

    # -- options: not at Alpaca here --------------------------------------------------------------
    def expirations(self, underlying: str) -> list[date]:
        return []

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        return []

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        return []

    def close(self) -> None:
        self._closed = True
        if self._started:
            self.stream.close()

    # -- the stream -----------------------------------------------------------------------------
    def _new_stream(self) -> _Subscribing:
        sdk = StockDataStream(
            self._settings.api_key.get_secret_value(),
            self._settings.api_secret.get_secret_value(),
            raw_data=True,
            feed=DataFeed(self._settings.feed),
            url_override=self._settings.data_stream_url or None,
            websocket_params={"ping_interval": 10, "ping_timeout": 20, "max_queue": 1024},
        )
        self._register(sdk)
        self._current = _Subscribing(sdk)
        return self._current

    def _register(self, sdk: StockDataStream) -> None:
        with self._lock:
            bars, quotes = sorted(self._bar_symbols), sorted(self._quote_symbols)
        if bars:
            sdk.subscribe_bars(self._on_bar, *bars)
        if quotes:
            sdk.subscribe_quotes(self._on_quote, *quotes)

    async def _on_bar(self, raw: Any) -> None:
        self.stream.seen()
        bar = bar_from_wire(str(raw["S"]), raw)
        with self._lock:
            self._bars.append(bar)
            self._last_message_at = self._clock.now()

    async def _on_quote(self, raw: Any) -> None:
        self.stream.seen()
        quote = quote_from_wire(str(raw["S"]), raw)
        with self._lock:
            self._quotes.append(quote)
            self._latest[quote.instrument_id] = quote
            self._last_message_at = self._clock.now()
