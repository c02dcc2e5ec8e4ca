"""The fake TWS's market data: ticks with model greeks, contract details, chain parameters
and historical bars, from the exchange's quotes and an optional market."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import polars as pl

from adapters.brokers.ibkr.parsing import duration_seconds, ib_time, instrument_from_fields, parse_ib_time
from core.errors import RaydeskError
from core.model import Equity, Instrument, InstrumentId, OptionContract, OptionQuote
from simulators.ibkr import messages as m
from simulators.ibkr.base import Session, TwsState, con_id_of
from simulators.ibkr.wire import FieldReader

BAR_SIZES = {"1 min": "1m", "1 day": "1d"}
DEEP = 1_000_000.0


@runtime_checkable
class ChainMarket(Protocol):
    """Where the fake takes option chains (and their model greeks) from: ``SyntheticMarket``."""

    def option_chain(self, underlying: str, ts: datetime, /) -> list[OptionQuote]: ...


@runtime_checkable
class BarMarket(Protocol):
    """Where the fake takes historical bars from: ``SyntheticMarket``."""

    def bars(self, symbol: str, start: datetime, end: datetime, timeframe: str) -> pl.DataFrame: ...


class MarketDesk(TwsState):
    """Market data of ``FakeTws`` (a mixin over its state)."""

    chains: ChainMarket | None
    bars: BarMarket | None
    _chains_at: dict[str, tuple[datetime, dict[InstrumentId, OptionQuote]]]

    def _send_ticks(self, only: tuple[Session, int] | None = None) -> None:
        """Quotes (and model greeks) that changed since they were last sent, to every line or
        to ``only`` (a session's new line)."""
        lines = [only] if only else [(s, req_id) for s in self.sessions for req_id in list(s.ticks)]
        for session, req_id in lines:
            instrument = session.ticks[req_id]
            quote = self.exchange.last_quote(instrument.id)
            greeks = None
            if isinstance(instrument, OptionContract) and self.chains is not None:
                greeks = self._chain(instrument.underlying).get(instrument.id)
                if greeks is not None and (quote is None or quote.ts < greeks.quote.ts):
                    quote = greeks.quote  # the chain now is newer than the venue's last quote
            if quote is None:
                continue
            key = (quote.bid, quote.ask, quote.bid_size, quote.ask_size, greeks)
            if session.sent.get(req_id) == key:
                continue
            session.sent[req_id] = key
            # TWS never quotes a side without size; the exchange's 0 means "deep".
            session.send(*m.tick_price(req_id, 1, float(quote.bid.value), quote.bid_size or DEEP))
            session.send(*m.tick_price(req_id, 2, float(quote.ask.value), quote.ask_size or DEEP))
            if greeks is not None:
                session.send(
                    *m.option_computation(
                        req_id,
                        greeks.iv,
                        greeks.delta,
                        greeks.theo or float(quote.mid.value),
                        greeks.gamma,
                        greeks.vega,
                        greeks.theta,
                        greeks.underlying_price,
                    )
                )

    def _chain(self, underlying: str) -> dict[InstrumentId, OptionQuote]:
        """The chain of ``underlying`` now (priced once per instant: pricing is the slow part)."""
        if self.chains is None:
            return {}
        now = self.clock.now()
        cached = self._chains_at.get(underlying)
        if cached is not None and cached[0] == now:
            return cached[1]
        try:
            chain = self.chains.option_chain(underlying, now)
        except RaydeskError:
            chain = []
        for q in chain:
            self.listed.setdefault(con_id_of(q.contract), q.contract)
        priced = {q.contract.id: q for q in chain}
        self._chains_at[underlying] = (now, priced)
        return priced

    # -- market data -------------------------------------------------------------------------
    def _req_mkt_data(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        _, instrument, _ = self._read_contract(r)
        if instrument is None:
            s.send(*m.error(req_id, 200, "No security definition has been found for the request"))
            return
        if r.next_int():  # a delta-neutral contract
            r.skip(3)
        r.skip(1)  # generic tick list
        snapshot = r.next_int()
        s.send(58, 1, req_id, 1)
        s.ticks[req_id] = instrument
        self._send_ticks(only=(s, req_id))
        if snapshot:  # one picture of the line, then it ends
            del s.ticks[req_id]
            s.sent.pop(req_id, None)
            s.send(57, 1, req_id)

    def _cancel_mkt_data(self, s: Session, r: FieldReader) -> None:
        r.skip(1)  # version
        req_id = r.next_int()
        s.ticks.pop(req_id, None)
        s.sent.pop(req_id, None)

    def _req_contract_details(self, s: Session, r: FieldReader) -> None:
        r.skip(1)
        req_id = r.next_int()
        con_id, symbol, sec_type, expiry = r.next_int(), r.next_str(), r.next_str(), r.next_str()
        strike, right = r.next_float(), r.next_str()
        found: list[Instrument] = []
        if con_id:
            found = [self.listed[con_id]] if con_id in self.listed else []
        elif sec_type == "STK":
            found = [Equity(symbol)]
        elif sec_type == "OPT" and expiry and strike and right:
            found = [o for o in [self._option(symbol, expiry, strike, right)] if o is not None]
        elif sec_type == "OPT":
            self._chain(symbol)
            found = [
                i for i in self.listed.values()
                if isinstance(i, OptionContract) and i.underlying == symbol
                and (not expiry or f"{i.expiry:%Y%m%d}" == expiry)
                and (not strike or float(i.strike) == strike) and (not right or i.right.value == right[:1])
            ]  # fmt: skip
        for instrument in sorted(found, key=lambda i: str(i.id)):
            cid = con_id_of(instrument)
            self.listed.setdefault(cid, instrument)
            under = con_id_of(Equity(instrument.underlying))
            s.send(*m.contract_details(req_id, m.wire_contract(instrument, cid), under))
        if not found:
            s.send(*m.error(req_id, 200, "No security definition has been found for the request"))
        else:
            s.send(52, 1, req_id)

    def _option(self, symbol: str, expiry: str, strike: float, right: str) -> Instrument | None:
        try:
            return instrument_from_fields(symbol, "OPT", expiry, strike, right, "100", "")
        except (RaydeskError, ValueError):
            return None

    def _req_sec_def(self, s: Session, r: FieldReader) -> None:
        req_id, symbol = r.next_int(), r.next_str()
        self._chain(symbol)
        options = [
            i for i in self.listed.values() if isinstance(i, OptionContract) and i.underlying == symbol
        ]
        for root in sorted({o.root for o in options}):
            mine = [o for o in options if o.root == root]
            expiries = sorted({f"{o.expiry:%Y%m%d}" for o in mine})
            strikes = sorted({float(o.strike) for o in mine})
            s.send(*m.sec_def_opt_params(req_id, con_id_of(Equity(symbol)), root, expiries, strikes))
        s.send(76, req_id)

    def _req_historical(self, s: Session, r: FieldReader) -> None:
        req_id = r.next_int()
        _, instrument, _ = self._read_contract(r)
        r.skip(1)  # includeExpired
        end_text, size, span = r.next_str(), r.next_str(), r.next_str()
        end = parse_ib_time(end_text) if end_text else self.clock.now()
        start = end - timedelta(seconds=duration_seconds(span))
        bars = self.bars_of(instrument, start, end, size) if isinstance(instrument, Equity) else []
        s.send(*m.historical_data(req_id, ib_time(start), ib_time(end), bars))

    def bars_of(
        self, instrument: Equity, start: datetime, end: datetime, size: str
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Bars of the market (``SyntheticMarket.bars``) in ``[start, end)``, if it has them."""
        if self.bars is None or size not in BAR_SIZES:
            return []
        try:
            frame = self.bars.bars(instrument.symbol, start, end, BAR_SIZES[size])
        except RaydeskError:
            return []
        return [
            (int(row["ts"].timestamp()), row["open"], row["high"], row["low"], row["close"], row["volume"])
            for row in frame.iter_rows(named=True)
        ]
