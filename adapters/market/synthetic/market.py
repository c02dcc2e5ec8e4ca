"""``SyntheticMarket``: the generated paths behind bars, quotes and option chains."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta
from typing import NamedTuple

import numpy as np
import polars as pl

from adapters.market.synthetic.bars import SessionGrid, SymbolPath, daily_bars, simulate_symbol
from adapters.market.synthetic.config import SyntheticMarketConfig
from adapters.market.synthetic.options import ChainConfig, OptionQuote, option_chain
from adapters.store.schema import filter_ts
from core.calendar import MarketCalendar, to_new_york
from core.clock import ensure_utc
from core.errors import DataError

_MINUTE_US = 60_000_000
_ONE_MINUTE = timedelta(minutes=1)


class Quote(NamedTuple):
    """The top of book at ``ts`` (the close of the bar it was taken from)."""

    bid: float
    ask: float
    ts: datetime


class SyntheticMarket:
    """A deterministic market: each symbol's path is generated once, on first use.

    Everything here is a pure function of ``(config, symbol, ts)``, so two markets built from
    the same config answer every question identically.
    """

    def __init__(self, config: SyntheticMarketConfig, chain: ChainConfig | None = None) -> None:
        self.config = config
        self.chain_config = chain or ChainConfig()
        self._grid: SessionGrid | None = None
        self._paths: dict[str, SymbolPath] = {}
        self._close_us: dict[str, np.ndarray] = {}
        self._calendar = MarketCalendar(config.start, config.end)

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.config.symbols

    def path(self, symbol: str) -> SymbolPath:
        """The generated path of ``symbol``; ``DataError`` if it is not in the universe."""
        if symbol not in self.config.symbols:
            raise DataError(f"{symbol!r} is not a synthetic symbol (have {list(self.config.symbols)})")
        if symbol not in self._paths:
            if self._grid is None:
                self._grid = SessionGrid.build(self.config.start, self.config.end)
            path = simulate_symbol(self.config, symbol, self._grid)
            self._paths[symbol] = path
            self._close_us[symbol] = path.bars.get_column("ts").dt.epoch("us").to_numpy() + _MINUTE_US
        return self._paths[symbol]

    def bars(
        self,
        symbol: str,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        timeframe: str = "1m",
    ) -> pl.DataFrame:
        """Bars of ``symbol`` with ``ts`` in ``[start, end)`` (a date ``end`` is inclusive)."""
        minute = self.path(symbol).bars
        if timeframe == "1d":
            frame = daily_bars(minute)
        elif timeframe == "1m":
            frame = minute
        else:
            raise DataError(f"synthetic bars come in 1m and 1d, not {timeframe!r}")
        return filter_ts(frame.lazy(), start, end).collect()

    def _index_at(self, symbol: str, ts: datetime) -> int:
        self.path(symbol)
        at_us = int(ensure_utc(ts).timestamp() * 1_000_000)
        i = int(np.searchsorted(self._close_us[symbol], at_us, side="right")) - 1
        if i < 0:
            raise DataError(f"no {symbol} quote at or before {ts.isoformat()}")
        return i

    def quote_at(self, symbol: str, ts: datetime) -> Quote:
        """The latest quote known at ``ts``: that of the last bar closed at or before it."""
        i = self._index_at(symbol, ts)
        row = self._paths[symbol].bars.row(i, named=True)
        return Quote(row["bid"], row["ask"], row["ts"] + _ONE_MINUTE)

    def spot_and_vol(self, symbol: str, ts: datetime) -> tuple[float, float]:
        """The last close at or before ``ts`` and the annualised volatility of its session."""
        i = self._index_at(symbol, ts)
        path = self._paths[symbol]
        row = path.bars.row(i, named=True)
        session = bisect_left(path.sessions, to_new_york(row["ts"]).date())
        return float(row["close"]), float(path.session_vol[session])

    def option_chain(self, underlying: str, ts: datetime) -> list[OptionQuote]:
        """The option chain of ``underlying`` at ``ts``, priced off its synthetic path."""
        spot, vol = self.spot_and_vol(underlying, ts)
        return option_chain(underlying, ensure_utc(ts), spot, vol, self.chain_config, self._calendar)
