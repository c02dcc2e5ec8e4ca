"""Earnings dates and the blackout around them: no new entry in a symbol N sessions around its
earnings (a gap through the report is not a risk the strategies model).

Pure and calendar-aware: distances are counted in the exchange's sessions, so a report on a
Monday is one session after the Friday before it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from core.calendar import MarketCalendar
from core.errors import InvalidValue

__all__ = ["EarningsCalendar"]


@dataclass(frozen=True)
class EarningsCalendar:
    """Report dates per symbol (upper-case tickers), each list sorted."""

    dates: Mapping[str, tuple[date, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, date]]) -> EarningsCalendar:
        """From ``(symbol, report date)`` pairs, in any order, duplicates allowed."""
        found: dict[str, set[date]] = {}
        for symbol, day in rows:
            if not symbol or symbol != symbol.strip().upper():
                raise InvalidValue(f"earnings: {symbol!r} is not an upper-case ticker")
            found.setdefault(symbol, set()).add(day)
        return cls({s: tuple(sorted(d)) for s, d in sorted(found.items())})

    def next_report(self, symbol: str, session: date) -> date | None:
        """The first report on or after ``session``, if one is known."""
        days = self.dates.get(symbol, ())
        i = bisect_left(days, session)
        return days[i] if i < len(days) else None

    def days_to_earnings(self, symbol: str, session: date, calendar: MarketCalendar) -> int | None:
        """Sessions from ``session`` to the next report (0: reports today), or None if unknown."""
        report = self.next_report(symbol, session)
        if report is None:
            return None
        return _sessions_between(calendar, session, report)

    def blackout(self, symbol: str, session: date, sessions: int, calendar: MarketCalendar) -> str | None:
        """Why ``symbol`` takes no entry on ``session`` (within ``sessions`` of a report), or None."""
        if sessions <= 0:
            return None
        days = self.dates.get(symbol, ())
        i = bisect_left(days, session)
        if i < len(days) and (ahead := _sessions_between(calendar, session, days[i])) <= sessions:
            return f"earnings on {days[i].isoformat()} in {ahead} session(s) (blackout of {sessions})"
        if i > 0 and (since := _sessions_between(calendar, days[i - 1], session)) <= sessions:
            return f"earnings on {days[i - 1].isoformat()}, {since} session(s) ago (blackout of {sessions})"
        return None


def _sessions_between(calendar: MarketCalendar, first: date, last: date) -> int:
    """Sessions after ``first`` up to and including ``last`` (0 when equal)."""
    return len(calendar.sessions(first, last)) - (1 if calendar.is_session(first) else 0)
