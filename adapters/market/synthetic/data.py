"""``SyntheticMarketData``: the synthetic market behind the ``MarketData`` port.

Everything is priced at the clock's now (the account's simulated clock in a replay): history
from the generated paths, the latest quote of the last closed bar, Black-Scholes option chains
over the full exchange calendar (the market's own calendar ends with its data, and a chain must
list expiries after the last stored session). ``poll`` delivers the quotes of the subscribed
instruments once per new instant of the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.options import chain_strikes, expiries, option_quotes
from adapters.market.synthetic.quotes_bridge import to_option_quote
from core.calendar import MarketCalendar
from core.clock import Clock
from core.errors import DataError
from core.model import Equity, InstrumentId, OptionContract, OptionRight, Price, Quote
from core.model.market import OptionQuote
from core.ports.market_data import FeedStatus, MarketUpdate


class SyntheticMarketData:
    """The ``MarketData`` port of a ``SyntheticMarket`` on ``clock``."""

    def __init__(self, market: SyntheticMarket, clock: Clock, calendar: MarketCalendar | None = None) -> None:
        self.market = market
        self._clock = clock
        self._calendar = calendar or MarketCalendar()
        self._quoted: set[InstrumentId] = set()
        self._bars: dict[str, set[str]] = {}
        self._polled: datetime | None = None
        self._closed = False

    # -- history ----------------------------------------------------------------------------
    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        frames = [self.market.bars(s, start, end, timeframe) for s in sorted(symbols)]
        frames = [f.filter(pl.col("ts") < end) for f in frames if not f.is_empty()]
        return pl.concat(frames) if frames else pl.DataFrame()

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        try:
            q = self.market.quote_at(str(instrument_id), self._clock.now())
        except DataError:
            return None
        return Quote(Equity(str(instrument_id)).id, Price(repr(q.bid)), Price(repr(q.ask)), q.ts)

    # -- streaming --------------------------------------------------------------------------
    def subscribe_bars(self, symbols: Sequence[str], timeframe: str = "1m") -> None:
        self._bars.setdefault(timeframe, set()).update(symbols)

    def subscribe_quotes(self, instrument_ids: Sequence[InstrumentId]) -> None:
        self._quoted.update(instrument_ids)

    def unsubscribe(self, instrument_ids: Sequence[InstrumentId]) -> None:
        gone = {str(i) for i in instrument_ids}
        self._quoted -= set(instrument_ids)
        for symbols in self._bars.values():
            symbols -= gone

    def poll(self) -> MarketUpdate:
        now = self._clock.now()
        if self._closed or now == self._polled:
            return MarketUpdate()
        self._polled = now
        quotes = [q for i in sorted(self._quoted) if (q := self.latest_quote(i)) is not None]
        return MarketUpdate(quotes=tuple(quotes))

    def status(self) -> FeedStatus:
        subscriptions = len(self._quoted) + sum(len(s) for s in self._bars.values())
        return FeedStatus(
            connected=not self._closed,
            healthy=not self._closed,
            last_message_at=self._polled,
            subscriptions=subscriptions,
        )

    # -- options ----------------------------------------------------------------------------
    def expirations(self, underlying: str) -> list[date]:
        self.market.path(underlying)  # DataError for a symbol the market does not have
        horizon = self.market.chain_config.horizon_days
        return [e.date for e in expiries(self._clock.now(), horizon, self._calendar)]

    def option_contracts(self, underlying: str, expiration: date) -> list[OptionContract]:
        spot, _ = self.market.spot_and_vol(underlying, self._clock.now())
        return [
            OptionContract(underlying, expiration, right, str(strike))
            for strike in chain_strikes(spot, self.market.chain_config)
            for right in (OptionRight.CALL, OptionRight.PUT)
        ]

    def option_quotes(self, contracts: Sequence[OptionContract]) -> list[OptionQuote]:
        """Quotes with greeks of ``contracts`` in their order (those with no value left out)."""
        now = self._clock.now()
        priced: dict[InstrumentId, OptionQuote] = {}
        for underlying in sorted({str(c.underlying) for c in contracts}):
            spot, vol = self.market.spot_and_vol(underlying, now)
            mine = [c for c in contracts if str(c.underlying) == underlying]
            config = self.market.chain_config
            for q in option_quotes(mine, now, spot, vol, config, self._calendar):
                priced[q.contract.id] = to_option_quote(q)
        return [priced[c.id] for c in contracts if c.id in priced]

    def close(self) -> None:
        self._closed = True
