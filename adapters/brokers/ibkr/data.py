"""``IbkrMarketData``: the ``MarketData`` port over ib_async (bars, quotes, chains, greeks).

* Quotes: ``reqMktData`` per instrument (qualified first: TWS wants a conId). Option lines
  carry TWS's model greeks (option computation tick 13) into ``OptionQuote``.
* Bars: ``reqHistoricalData``; a bar subscription polls for bars closed since the last one.
* Chains: ``reqSecDefOptParams`` for the expirations, contract details for the listed contracts.
* Every market-data line is re-requested after a reconnect and after 1101 (TWS lost them).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import polars as pl
from ib_async import IB, Contract, OptionComputation, Ticker

from adapters.brokers.ibkr.parsing import (
    bar_size,
    contract_for,
    duration,
    instrument_of,
    parse_expiry,
)
from adapters.brokers.ibkr.session import IbSession
from adapters.store.schema import BAR_SCHEMA, TIMEFRAMES
from core.clock import Clock
from core.errors import BrokerUnavailable, DataError
from core.model import (
    Bar,
    Equity,
    Instrument,
    InstrumentId,
    OptionContract,
    OptionQuote,
    Price,
    Quote,
    instrument_from_id,
)
from core.ports.market_data import FeedStatus, MarketUpdate


class IbkrMarketData:
    """Market data of one IB session (see the module docstring)."""

    def __init__(self, session: IbSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted: dict[InstrumentId, Instrument] = {}
        self._tickers: dict[InstrumentId, Ticker] = {}
        self._con_ids: dict[Instrument, int] = {}
        self._quotes: dict[InstrumentId, Quote] = {}
        self._option_quotes: dict[InstrumentId, OptionQuote] = {}
        self._new_quotes: list[Quote] = []
        self._new_options: list[OptionQuote] = []
        self._bar_subs: dict[str, str] = {}
        self._last_bar: dict[str, datetime] = {}
        self.resubscriptions = 0
        session.on_connect.append(self._on_connect)
        session.on_restore.append(self._on_restore)

    # -- history ------------------------------------------------------------------------------
    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        rows: list[dict[str, object]] = []
        for symbol in symbols:
            rows += self._session.call(self._bars(symbol, timeframe, start, end))
        frame = (
            pl.DataFrame(rows, schema=BAR_SCHEMA, orient="row") if rows else pl.DataFrame(schema=BAR_SCHEMA)
        )
        return frame.sort(["symbol", "ts"])

    async def _bars(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> list[dict[str, object]]:
        ib = self._session.require()
        bars = await ib.reqHistoricalDataAsync(
            contract_for(Equity(symbol)), end, duration(start, end), bar_size(timeframe), "TRADES", False, 2
        )
        out = []
        for b in bars:
            ts = (
                b.date
                if isinstance(b.date, datetime)
                else datetime(b.date.year, b.date.month, b.date.day, tzinfo=UTC)
            )
            ts = ts.astimezone(UTC)
            if start <= ts < end:
                out.append(
                    {"symbol": symbol, "ts": ts, "open": b.open, "high": b.high, "low": b.low,
                     "close": b.close, "volume": b.volume, "bid": None, "ask": None}
                )  # fmt: skip
        return out

    # -- quotes -------------------------------------------------------------------------------
    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        with self._lock:
            return self._quotes.get(instrument_id)

    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        bar_size(timeframe)
        now = self._clock.now()
        with self._lock:
            for symbol in symbols:
                self._bar_subs.setdefault(symbol, timeframe)
                self._last_bar.setdefault(symbol, now)

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        fresh = {iid: instrument_from_id(iid) for iid in instrument_ids if iid not in self._wanted}
        with self._lock:
            self._wanted.update(fresh)
        if fresh and self._session.connected:
            self._session.call(self._subscribe(self._session.require(), list(fresh.values())))

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        with self._lock:
            for iid in instrument_ids:
                self._wanted.pop(iid, None)
                self._bar_subs.pop(str(iid), None)
        self._session.call(self._cancel(list(instrument_ids)))

    async def _cancel(self, ids: list[InstrumentId]) -> None:
        ib = self._session.ib
        for iid in ids:
            ticker = self._tickers.pop(iid, None)
            if ticker is not None and ticker.contract and ib is not None and ib.isConnected():
                ib.cancelMktData(ticker.contract)

    async def _subscribe(self, ib: IB, instruments: Sequence[Instrument]) -> None:
        await self._qualify(ib, instruments)
        for instrument in instruments:
            con_id = self._con_ids.get(instrument)
            if con_id is None or instrument.id in self._tickers:
                continue
            ticker = ib.reqMktData(contract_for(instrument, con_id))
            self._tickers[instrument.id] = ticker

    async def _qualify(self, ib: IB, instruments: Sequence[Instrument]) -> None:
        missing = [i for i in instruments if i not in self._con_ids]
        if not missing:
            return
        found = await ib.qualifyContractsAsync(*(contract_for(i) for i in missing))
        for instrument, contract in zip(missing, found, strict=True):
            if isinstance(contract, Contract) and contract.conId:
                self._con_ids[instrument] = contract.conId

    async def _on_connect(self, ib: IB) -> None:
        """A fresh connection has no lines: request every wanted one again."""
        ib.pendingTickersEvent += self._on_tickers
        self._tickers.clear()
        if self._wanted:
            self.resubscriptions += 1
            await self._subscribe(ib, list(self._wanted.values()))

    async def _on_restore(self, ib: IB, data_lost: bool) -> None:
        if not data_lost:
            return
        for ticker in self._tickers.values():
            if ticker.contract is not None:
                ib.cancelMktData(ticker.contract)
        self._tickers.clear()
        self.resubscriptions += 1
        await self._subscribe(ib, list(self._wanted.values()))

    def _on_tickers(self, tickers: set[Ticker]) -> None:
        self._session.touch()
        now = self._clock.now()
        for ticker in tickers:
            instrument = instrument_of(ticker.contract) if ticker.contract else None
            if instrument is None or not _valid(ticker.bid) or not _valid(ticker.ask):
                continue
            quote = Quote(
                instrument.id,
                Price(str(ticker.bid)),
                Price(str(ticker.ask)),
                now,
                _size(ticker.bidSize),
                _size(ticker.askSize),
            )
            with self._lock:
                last = self._quotes.get(instrument.id)
                if last is None or _book(last) != _book(quote):
                    self._quotes[instrument.id] = quote
                    self._new_quotes.append(quote)
                greeks = ticker.modelGreeks
                if isinstance(instrument, OptionContract) and greeks is not None:
                    option = _option_quote(instrument, quote, greeks)
                    seen = self._option_quotes.get(instrument.id)
                    if option is not None and (
                        seen is None
                        or _book(seen.quote) != _book(quote)
                        or seen.iv != option.iv
                        or seen.delta != option.delta
                    ):
                        self._option_quotes[instrument.id] = option
                        self._new_options.append(option)

    def poll(self) -> MarketUpdate:
        bars = self._due_bars()
        with self._lock:
            quotes, self._new_quotes = self._new_quotes, []
            options, self._new_options = self._new_options, []
        option_ids = {q.contract.id for q in options}
        return MarketUpdate(
            bars=tuple(bars),
            quotes=tuple(q for q in quotes if q.instrument_id not in option_ids),
            option_quotes=tuple(options),
        )

    def _due_bars(self) -> list[Bar]:
        now = self._clock.now()
        with self._lock:
            subs = dict(self._bar_subs)
        bars: list[Bar] = []
        for symbol, timeframe in subs.items():
            last = self._last_bar[symbol]
            step = timedelta(microseconds=TIMEFRAMES.get(timeframe) or 86_400_000_000)
            if now - last < step or not self._session.connected:
                continue
            frame = self.history([symbol], timeframe, last, now)
            for row in frame.iter_rows(named=True):
                bars.append(
                    Bar(symbol, row["ts"], row["open"], row["high"], row["low"], row["close"], row["volume"])
                )
                self._last_bar[symbol] = row["ts"] + step
        return bars

    def status(self) -> FeedStatus:
        session = self._session
        flags = tuple(sorted(session.flags))
        detail = ""
        if not session.connected:
            detail = "disconnected from TWS"
        elif not session.link_up:
            detail = "TWS lost its link to IB (1100)"
        elif flags:
            detail = "data farm broken: " + ", ".join(flags)
        return FeedStatus(
            connected=session.connected,
            healthy=session.connected and session.link_up and not flags,
            last_message_at=session.last_message_at,
            detail=detail,
            reconnects=session.reconnects,
            subscriptions=len(self._tickers),
            flags=flags,
        )

    # -- options ------------------------------------------------------------------------------
    def expirations(self, underlying: str) -> list[date]:
        return self._session.call(self._expirations(underlying))

    async def _expirations(self, underlying: str) -> list[date]:
        ib = self._session.require()
        stock = Equity(underlying)
        await self._qualify(ib, [stock])
        if stock not in self._con_ids:
            raise DataError(f"IB does not know {underlying!r}")
        chains = await ib.reqSecDefOptParamsAsync(underlying, "", "STK", self._con_ids[stock])
        return sorted({parse_expiry(e) for chain in chains for e in chain.expirations})

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        return self._session.call(self._contracts(underlying, expiration))

    async def _contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        ib = self._session.require()
        query = Contract(
            secType="OPT", symbol=underlying, lastTradeDateOrContractMonth=f"{expiration:%Y%m%d}",
            exchange="SMART", currency="USD",
        )  # fmt: skip
        found: list[OptionContract] = []
        for details in await ib.reqContractDetailsAsync(query):
            contract = details.contract
            instrument = instrument_of(contract) if contract else None
            if isinstance(instrument, OptionContract) and contract is not None:
                self._con_ids[instrument] = contract.conId
                found.append(instrument)
        return sorted(found, key=lambda c: (c.right.value, c.strike))

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        """Quotes with TWS's model greeks of ``contracts`` (those that answered in time).

        Contracts without a streaming line (``subscribe_quotes``) get a snapshot request: TWS
        allows about a hundred lines, and a chain is far wider than that."""
        wanted = list(contracts)
        asked = self._session.call(self._snapshot(wanted), 2 * self._session.settings.request_timeout)
        with self._lock:
            return [
                self._option_quotes[c.id] for c in wanted if c.id in self._option_quotes and c.id in asked
            ]

    async def _snapshot(self, contracts: list[OptionContract]) -> set[InstrumentId]:
        ib = self._session.require()
        await self._qualify(ib, contracts)
        asked = {c.id for c in contracts if c in self._con_ids}
        fresh = [c for c in contracts if c.id in asked and c.id not in self._tickers]
        with self._lock:
            for contract in fresh:
                self._option_quotes.pop(contract.id, None)
        if fresh:
            lines = [contract_for(c, self._con_ids[c]) for c in fresh]
            tickers = await asyncio.wait_for(
                ib.reqTickersAsync(*lines), self._session.settings.request_timeout
            )
            self._on_tickers(set(tickers))
        return asked

    def close(self) -> None:
        with contextlib.suppress(BrokerUnavailable):
            self._session.call(self._cancel(list(self._tickers)))


def _book(quote: Quote) -> tuple[Price, Price, float, float]:
    return quote.bid, quote.ask, quote.bid_size, quote.ask_size


def _valid(value: float) -> bool:
    return value is not None and not math.isnan(value) and value > 0


def _size(value: float) -> float:
    return value if value is not None and not math.isnan(value) and value > 0 else 0.0


def _option_quote(contract: OptionContract, quote: Quote, greeks: OptionComputation) -> OptionQuote | None:
    """The quote with TWS's model greeks; None until iv and every greek arrived."""
    g = greeks
    if g.impliedVol is None or g.delta is None or g.gamma is None or g.theta is None or g.vega is None:
        return None
    return OptionQuote(
        contract, quote, float(g.undPrice or 0.0), g.impliedVol, g.delta, g.gamma, g.theta, g.vega, g.optPrice
    )
