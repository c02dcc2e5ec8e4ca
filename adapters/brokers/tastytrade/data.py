"""``TastytradeMarketData``: the ``MarketData`` port over DXLink and the SDK's REST calls.

* Quotes (``Quote``) of underlyings and option legs, with ``Greeks`` for options, stream over one
  ``DXLinkStreamer``; subscriptions go out in chunks (``chunk_size`` symbols a message: an
  oversized one drops the socket) and are re-sent whole after every reconnect.
* The SDK does not reconnect: the feed task does, with back-off, after a dropped socket and
  after the watchdog saw nothing for ``watchdog_s`` while the market is open (a silent feed).
* ``option_quotes`` subscribes what is missing (and the underlyings), waits the seed's
  ``stabilise_s`` on the clock after a new subscription, then returns the legs that have a
  quote (with greeks once they arrived).
* Chains from ``NestedOptionChain`` (read once a session); IV rank from the market metrics.
* A quote's time is the exchange's (bid/ask time); only a quote without one gets the clock's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Greeks
from tastytrade.dxfeed import Quote as DxQuote
from tastytrade.instruments import NestedOptionChain
from tastytrade.metrics import get_market_metrics
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError

from adapters.brokers.tastytrade.parsing import instrument_of, streamer_symbol
from adapters.brokers.tastytrade.session import TtSession
from core.clock import Clock
from core.errors import DataError
from core.model import Equity, Instrument, InstrumentId, OptionContract, OptionQuote, Price, Quote
from core.model.instruments import instrument_from_id
from core.ports.market_data import FeedStatus, MarketUpdate

log = logging.getLogger(__name__)


QUIET_S = 0.25
"""``option_quotes`` stops waiting for missing legs once the feed sent nothing for this long."""


class FeedSilent(Exception):
    """The watchdog's reason to reconnect: nothing arrived for ``watchdog_s`` in session."""


def _find(exc: BaseException, kind: type[FeedSilent]) -> FeedSilent | None:
    """``exc`` or the first ``kind`` inside it (the SDK's task groups wrap what they raise)."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _find(inner, kind)) is not None:
                return found
    return None


def _always_open(ts: datetime) -> bool:
    return True


class TastytradeMarketData:
    """Quotes with greeks, chains and IV rank of one Tastytrade login (see the module docstring)."""

    def __init__(
        self, session: TtSession, clock: Clock, is_open: Callable[[datetime], bool] = _always_open
    ) -> None:
        self._session = session
        self._clock = clock
        self._is_open = is_open
        self._lock = threading.RLock()
        self._wanted: dict[str, Instrument] = {}
        self._sent: set[str] = set()
        self._quotes: dict[InstrumentId, Quote] = {}
        self._greeks: dict[InstrumentId, Greeks] = {}
        self._new_quotes: list[Quote] = []
        self._chains: dict[str, list[NestedOptionChain]] = {}
        self._chains_on: date | None = None
        self._streamer: DXLinkStreamer | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_rx = 0.0
        self.last_message_at: datetime | None = None
        self.connected = False
        self.reconnects = 0
        self.detail = "not started"

    # -- streaming ----------------------------------------------------------------------------
    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        """Bars are not streamed here; the symbols' quotes are (bars come from the data store)."""
        self.subscribe_quotes([InstrumentId(s) for s in symbols])

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        self._want([instrument_from_id(i) for i in instrument_ids])

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        with self._lock:
            for iid in instrument_ids:
                self._wanted.pop(streamer_symbol(instrument_from_id(iid)), None)

    def _want(self, instruments: Sequence[Instrument]) -> bool:
        """Add to the wanted set; True when something new had to be subscribed."""
        with self._lock:
            new = {streamer_symbol(i): i for i in instruments if streamer_symbol(i) not in self._wanted}
            self._wanted |= new
        if self._task is None:
            self._session.call(self._start())
        elif new:
            self._session.call(self._subscribe_missing())
        return bool(new)

    async def _start(self) -> None:
        if self._task is None:
            self._task = self._session.spawn(self._run())
            await self._wait_connected(self._session.settings.request_timeout)

    async def _wait_connected(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.connected and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    def poll(self) -> MarketUpdate:
        with self._lock:
            quotes, self._new_quotes = self._new_quotes, []
        return MarketUpdate(quotes=tuple(quotes))

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        with self._lock:
            return self._quotes.get(instrument_id)

    def get(self, instrument_id: InstrumentId, /) -> Quote | None:
        """The latest quote (the Trident's ``QuoteSource``)."""
        return self.latest_quote(instrument_id)

    def status(self) -> FeedStatus:
        with self._lock:
            subs = len(self._wanted)
        return FeedStatus(
            connected=self.connected,
            healthy=self.connected and self._session.token_valid,
            last_message_at=self.last_message_at,
            detail=self.detail,
            reconnects=self.reconnects,
            subscriptions=subs,
        )

    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        raise DataError("the Tastytrade adapter serves no bar history; use the data store")

    def wait_for(
        self, instrument_ids: Sequence[InstrumentId], newer_than: datetime, timeout: float = 5.0
    ) -> bool:
        """Block until every instrument has a quote stamped after ``newer_than`` (True) or time out."""

        async def wait() -> bool:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                with self._lock:
                    if all(
                        (q := self._quotes.get(i)) is not None and q.ts > newer_than for i in instrument_ids
                    ):
                        return True
                await asyncio.sleep(0.01)
            return False

        return self._session.call(wait(), timeout + 1)

    # -- the feed task ------------------------------------------------------------------------
    async def _run(self) -> None:
        s = self._session.settings
        delay, first = s.backoff_initial, True
        while not self._session.closing:
            try:
                sdk, _ = self._session.require()
                async with DXLinkStreamer(sdk) as streamer:
                    self._streamer = streamer
                    self._sent.clear()
                    await self._subscribe_missing()
                    self._last_rx = asyncio.get_running_loop().time()
                    self.connected = True
                    self.detail = "streaming"
                    if not first:
                        self.reconnects += 1
                        self._session.raise_alert("DXLink reconnected and resubscribed")
                    first, delay = False, s.backoff_initial
                    await asyncio.gather(
                        self._read(streamer, DxQuote), self._read(streamer, Greeks), self._watch()
                    )
            except Exception as exc:
                silent = _find(exc, FeedSilent)
                if silent is not None:
                    self.detail = str(silent)
                    self._session.raise_alert(f"DXLink feed silent: {silent}; reconnecting")
                else:
                    self.detail = f"disconnected: {exc!r}"
                    log.info("DXLink stopped: %r", exc)
            self.connected = False
            self._streamer = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, s.backoff_max)

    async def _subscribe_missing(self) -> None:
        streamer = self._streamer
        if streamer is None:
            return
        with self._lock:
            missing = [(sym, i) for sym, i in self._wanted.items() if sym not in self._sent]
        size = self._session.settings.chunk_size
        for start in range(0, len(missing), size):
            chunk = missing[start : start + size]
            symbols = [sym for sym, _ in chunk]
            await streamer.subscribe(DxQuote, symbols)
            options = [sym for sym, i in chunk if isinstance(i, OptionContract)]
            if options:
                await streamer.subscribe(Greeks, options)
            self._sent.update(symbols)

    async def _watch(self) -> None:
        limit = self._session.settings.watchdog_s
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            silent = asyncio.get_running_loop().time() - self._last_rx
            if silent > limit and self._is_open(self._clock.now()):
                raise FeedSilent(f"no DXLink data for {silent:.1f}s")

    async def _read(self, streamer: DXLinkStreamer, kind: type[DxQuote] | type[Greeks]) -> None:
        async for event in streamer.listen(kind):
            self._last_rx = asyncio.get_running_loop().time()
            self.last_message_at = self._clock.now()
            instrument = instrument_of(event.event_symbol, InstrumentType.EQUITY)  # or a .option
            if instrument is None:
                continue
            if isinstance(event, Greeks):
                with self._lock:
                    self._greeks[instrument.id] = event
                continue
            assert isinstance(event, DxQuote)
            ms = max(event.bid_time, event.ask_time)
            ts = datetime.fromtimestamp(ms / 1000, UTC) if ms else self._clock.now()
            quote = Quote(
                instrument.id,
                Price(event.bid_price),
                Price(event.ask_price),
                ts,
                float(event.bid_size),
                float(event.ask_size),
            )
            with self._lock:
                self._quotes[instrument.id] = quote
                self._new_quotes.append(quote)

    # -- options ------------------------------------------------------------------------------
    def _chain(self, underlying: str) -> list[NestedOptionChain]:
        today = self._clock.now().date()
        if self._chains_on != today:  # listings change from one session to the next
            self._chains.clear()
            self._chains_on = today
        if underlying not in self._chains:
            sdk, _ = self._session.require()
            try:
                chains = self._session.call(
                    self._session.request(lambda: NestedOptionChain.get(sdk, underlying))
                )
            except TastytradeError as exc:
                raise DataError(f"no option chain for {underlying}: {str(exc).strip()}") from None
            self._chains[underlying] = chains
        return self._chains[underlying]

    def expirations(self, underlying: str) -> list[date]:
        return sorted({e.expiration_date for c in self._chain(underlying) for e in c.expirations})

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        out: list[OptionContract] = []
        for chain in self._chain(underlying):
            for e in chain.expirations:
                if e.expiration_date == expiration:
                    for strike in e.strikes:
                        out += [OptionContract.from_occ(strike.put), OptionContract.from_occ(strike.call)]
        return out

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        """Latest quotes with greeks of ``contracts``; new subscriptions wait ``stabilise_s`` first."""
        underlyings = [Equity(u) for u in sorted({c.underlying for c in contracts})]
        wait = self._session.settings.stabilise_s
        if self._want([*contracts, *underlyings]) and wait:
            self._clock.sleep_until(self._clock.now() + timedelta(seconds=wait))
        self._session.call(self._wait_quotes([c.id for c in contracts], [u.id for u in underlyings]))
        out = []
        with self._lock:
            for c in contracts:
                quote, greeks = self._quotes.get(c.id), self._greeks.get(c.id)
                if quote is None:
                    continue
                spot = self._quotes.get(InstrumentId(c.underlying))
                out.append(
                    OptionQuote(
                        c,
                        quote,
                        float(spot.mid.value) if spot else 0.0,
                        float(greeks.volatility) if greeks else 0.0,
                        float(greeks.delta) if greeks else 0.0,
                        float(greeks.gamma) if greeks else 0.0,
                        float(greeks.theta) if greeks else 0.0,
                        float(greeks.vega) if greeks else 0.0,
                        float(greeks.price) if greeks else None,
                    )
                )
        return out

    async def _wait_quotes(self, options: list[InstrumentId], underlyings: list[InstrumentId]) -> None:
        """Wait (bounded) until every option has a quote and greeks, every underlying a quote."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self._session.settings.request_timeout / 2
        while loop.time() < deadline and self.connected:
            with self._lock:
                if all(i in self._quotes and i in self._greeks for i in options) and all(
                    i in self._quotes for i in underlyings
                ):
                    return
            if loop.time() - max(start, self._last_rx) > QUIET_S:
                return  # the feed went quiet: what has no quote by now has none to send
            await asyncio.sleep(0.01)

    def iv_rank(self, symbol: str) -> Decimal | None:
        """Tastytrade's IV rank of ``symbol`` (0..1), for the regime check; None if it has none."""
        sdk, _ = self._session.require()
        metrics = self._session.call(self._session.request(lambda: get_market_metrics(sdk, [symbol])))
        for m in metrics:
            if m.symbol == symbol and m.tw_implied_volatility_index_rank is not None:
                return m.tw_implied_volatility_index_rank
        return None

    def close(self) -> None:
        task = self._task
        if task is not None and not self._session.loop.is_closed():

            async def stop() -> None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

            with contextlib.suppress(Exception):
                self._session.call(stop(), 5.0)
        self._task = None
