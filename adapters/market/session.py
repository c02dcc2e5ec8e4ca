"""``SessionBars``: one session's stored bars, cut into the events a replay publishes.

Plain Python (no Ray): the market-data actor holds one and forwards ``minute`` / ``daily``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

import polars as pl

from actors.events import BarEvent
from adapters.store import BarStore
from core.clock import ensure_utc
from core.model import Equity, Price, Quote

MINUTE: Final = timedelta(minutes=1)


def quotes_of(bars: pl.DataFrame, at: datetime) -> list[Quote]:
    """The bid/ask at each bar's close as quotes stamped ``at``; bars without a quote give none."""
    quotes: list[Quote] = []
    for symbol, bid, ask in bars.select("symbol", "bid", "ask").iter_rows():
        if bid is None or ask is None:
            continue
        quotes.append(Quote(Equity(symbol).id, Price(repr(bid)), Price(repr(ask)), at))
    return quotes


class SessionBars:
    """The minute and daily bars of ``symbols`` for ``session``, indexed by completion instant."""

    def __init__(self, store: BarStore, session: date, symbols: Sequence[str]) -> None:
        self.session = session
        self.symbols = tuple(sorted(symbols))
        minute = store.read("1m", list(self.symbols), start=session, end=session)
        self._minutes: dict[datetime, pl.DataFrame] = {
            ensure_utc(ts) + MINUTE: part
            for (ts,), part in minute.partition_by("ts", as_dict=True, maintain_order=True).items()
        }

    @property
    def instants(self) -> list[datetime]:
        """Completion instants of the session's minute bars, in order."""
        return sorted(self._minutes)

    def minute(self, at: datetime) -> BarEvent | None:
        """The minute bars completing at ``at`` (``None`` when there are none)."""
        bars = self._minutes.get(ensure_utc(at))
        return None if bars is None else BarEvent.of(at, "1m", bars)
