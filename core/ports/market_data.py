"""The ``MarketData`` port: history, latest quotes and option chains."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import polars as pl

from core.model import InstrumentId
from core.model.market import OptionQuote, Quote


@runtime_checkable
class MarketData(Protocol):
    def history(self, symbols: list[str], timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Bars in the store's schema (symbol, ts, open, high, low, close, volume, bid, ask)."""
        ...

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        """The latest quote, or None if none is known. Callers check its age."""
        ...

    def option_chain(self, underlying: str, at: datetime) -> list[OptionQuote]:
        """Quotes of the listed options on ``underlying`` at ``at``."""
        ...
