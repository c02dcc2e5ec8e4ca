"""``SessionBars``: one stored session's bars, cut into the events a replay publishes.

The market-data actor holds one and forwards; each event is built once here, its quotes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

import polars as pl

from adapters.store import BarStore
from core.calendar import MarketCalendar
from core.clock import ensure_utc
from core.messages import BarEvent
from core.trading.freshness import daily_delivery

MINUTE: Final = timedelta(minutes=1)


class SessionBars:
    """The minute bars of ``symbols`` for ``session`` (indexed by completion instant) and the
    previous session's daily bars, delivered with the session's first minute."""

    def __init__(self, store: BarStore, session: date, symbols: Sequence[str]) -> None:
        self.session = session
        self.symbols = tuple(sorted(symbols))
        minute = store.read("1m", list(self.symbols), start=session, end=session)
        self._minutes: dict[datetime, pl.DataFrame] = {
            ensure_utc(ts) + MINUTE: part
            for (ts,), part in minute.partition_by("ts", as_dict=True, maintain_order=True).items()
        }
        self.daily = previous_daily(store, session, self.symbols)

    @property
    def instants(self) -> list[datetime]:
        """Completion instants of the session's minute bars, in order."""
        return sorted(self._minutes)

    def minute(self, at: datetime) -> BarEvent | None:
        """The minute bars completing at ``at`` (``None`` when there are none)."""
        bars = self._minutes.get(ensure_utc(at))
        return None if bars is None else BarEvent.of(at, "1m", bars)

    def daily_at(self, at: datetime) -> BarEvent | None:
        """The previous session's daily bars if ``at`` is when they are delivered."""
        return self.daily if self.daily is not None and ensure_utc(at) == self.daily.at else None


def previous_daily(store: BarStore, session: date, symbols: Sequence[str]) -> BarEvent | None:
    """The daily bars of the session before ``session``, as delivered in ``session``'s first minute."""
    calendar = MarketCalendar()
    previous = calendar.previous_session(session)
    bars = store.read("1d", sorted(symbols), start=previous, end=previous)
    return None if bars.is_empty() else BarEvent.of(daily_delivery(previous, calendar), "1d", bars)
