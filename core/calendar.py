"""The NYSE (XNYS) market calendar: sessions, holidays, early closes, open and close times.

Backed by ``exchange_calendars``. The calendar is built once per process (and widened when a
query falls outside it) into plain sorted lists, so every lookup is a bisect and constructing
``MarketCalendar`` repeatedly costs nothing. All returned timestamps are timezone-aware UTC;
sessions are ``date`` objects in the exchange's own (America/New_York) calendar.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import exchange_calendars as xcals

from core.clock import ensure_utc
from core.errors import InvalidValue

__all__ = ["EXCHANGE", "NEW_YORK", "MarketCalendar", "to_new_york"]

EXCHANGE = "XNYS"
NEW_YORK = ZoneInfo("America/New_York")

# Fixed default bounds keep results independent of the day the process starts (the library's
# own defaults are relative to the wall clock). Queries outside them widen the calendar.
_DEFAULT_START = date(2000, 1, 1)
_DEFAULT_END = date(2035, 12, 31)
# exchange_calendars refuses sessions before this for XNYS.
_EARLIEST = date(1885, 1, 1)
_ONE_MINUTE = timedelta(minutes=1)


def to_new_york(ts: datetime) -> datetime:
    """``ts`` (timezone-aware) expressed in America/New_York."""
    return ensure_utc(ts).astimezone(NEW_YORK)


@dataclass(frozen=True, slots=True)
class _Schedule:
    """Every session between ``start`` and ``end`` with its open and close, sorted."""

    start: date
    end: date
    sessions: list[date]
    opens: list[datetime]
    closes: list[datetime]
    index: dict[date, int]
    early: frozenset[date]

    def covers(self, start: date, end: date) -> bool:
        return self.start <= start and end <= self.end


def _to_utc(ts: Any) -> datetime:
    # ts is a tz-aware pandas Timestamp; pandas itself is not imported in core.
    dt: datetime = ts.to_pydatetime()
    return dt.astimezone(UTC)


def _build(start: date, end: date) -> _Schedule:
    cal = xcals.get_calendar(EXCHANGE, start=start.isoformat(), end=end.isoformat())
    frame = cal.schedule
    sessions = [ts.date() for ts in frame.index]
    opens = [_to_utc(ts) for ts in frame["open"]]
    closes = [_to_utc(ts) for ts in frame["close"]]
    early = frozenset(ts.date() for ts in cal.early_closes)
    return _Schedule(
        start=start,
        end=end,
        sessions=sessions,
        opens=opens,
        closes=closes,
        index={d: i for i, d in enumerate(sessions)},
        early=early,
    )


_lock = threading.Lock()
_cached: _Schedule | None = None


def _schedule(start: date, end: date) -> _Schedule:
    """The per-process schedule, rebuilt wider when ``[start, end]`` is not covered."""
    global _cached
    current = _cached
    if current is not None and current.covers(start, end):
        return current
    with _lock:
        current = _cached
        if current is not None and current.covers(start, end):
            return current
        lo = min(start, _DEFAULT_START if current is None else current.start)
        hi = max(end, _DEFAULT_END if current is None else current.end)
        # Round out to whole years so that a walk past the edge does not rebuild every day.
        lo = max(date(lo.year, 1, 1), _EARLIEST)
        hi = date(hi.year, 12, 31)
        _cached = _build(lo, hi)
        return _cached


class MarketCalendar:
    """The XNYS trading calendar. Date bounds are inclusive everywhere.

    ``start`` / ``end`` only pre-build the calendar for a range; any date is accepted later.
    """

    def __init__(self, start: date | None = None, end: date | None = None) -> None:
        lo = start or _DEFAULT_START
        hi = end or _DEFAULT_END
        if lo > hi:
            raise InvalidValue(f"calendar start {lo} is after end {hi}")
        self._data = _schedule(lo, hi)

    # -- internal ------------------------------------------------------------------------
    def _covering(self, start: date, end: date) -> _Schedule:
        if not self._data.covers(start, end):
            self._data = _schedule(start, end)
        return self._data

    def _session_index(self, d: date) -> int:
        data = self._covering(d, d)
        i = data.index.get(d)
        if i is None:
            raise InvalidValue(f"{d.isoformat()} is not an {EXCHANGE} session")
        return i

    # -- sessions ------------------------------------------------------------------------
    def sessions(self, start: date, end: date) -> list[date]:
        """Sessions from ``start`` to ``end``, both included."""
        if start > end:
            return []
        data = self._covering(start, end)
        return data.sessions[bisect_left(data.sessions, start) : bisect_right(data.sessions, end)]

    def is_session(self, d: date) -> bool:
        """Whether the exchange trades on ``d``."""
        return d in self._covering(d, d).index

    def session_open_close(self, d: date) -> tuple[datetime, datetime]:
        """Open and close of session ``d`` in UTC; ``InvalidValue`` if ``d`` is not a session."""
        i = self._session_index(d)
        return self._data.opens[i], self._data.closes[i]

    def is_early_close(self, d: date) -> bool:
        """Whether session ``d`` closes before the regular 16:00 New York close."""
        return d in self._covering(d, d).early

    def early_closes(self, start: date, end: date) -> list[date]:
        """Early-close sessions from ``start`` to ``end``."""
        early = self._covering(start, end).early if start <= end else frozenset()
        return sorted(d for d in early if start <= d <= end)

    def holidays(self, start: date, end: date) -> list[date]:
        """Weekdays from ``start`` to ``end`` on which the exchange is closed."""
        if start > end:
            return []
        data = self._covering(start, end)
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [d for d in days if d.weekday() < 5 and d not in data.index]

    def next_session(self, d: date) -> date:
        """The first session strictly after ``d``."""
        data = self._covering(d, d + timedelta(days=14))
        return data.sessions[bisect_right(data.sessions, d)]

    def previous_session(self, d: date) -> date:
        """The last session strictly before ``d``."""
        data = self._covering(d - timedelta(days=14), d)
        return data.sessions[bisect_left(data.sessions, d) - 1]

    def session_minutes(self, d: date) -> list[datetime]:
        """Start times (UTC) of the 1-minute bars of session ``d``: 390 on a full day."""
        market_open, market_close = self.session_open_close(d)
        count = int((market_close - market_open) / _ONE_MINUTE)
        return [market_open + n * _ONE_MINUTE for n in range(count)]

    # -- instants ------------------------------------------------------------------------
    def _session_on(self, ts: datetime) -> tuple[datetime, datetime] | None:
        day = to_new_york(ts).date()
        if not self.is_session(day):
            return None
        return self.session_open_close(day)

    def is_open(self, ts: datetime) -> bool:
        """Whether the market is open at ``ts`` (open included, close excluded)."""
        ts = ensure_utc(ts)
        hours = self._session_on(ts)
        return hours is not None and hours[0] <= ts < hours[1]

    def next_open(self, ts: datetime) -> datetime:
        """The first session open strictly after ``ts``."""
        ts = ensure_utc(ts)
        day = to_new_york(ts).date()
        data = self._covering(day, day + timedelta(days=14))
        i = bisect_right(data.opens, ts)
        return data.opens[i]

    def next_close(self, ts: datetime) -> datetime:
        """The first session close strictly after ``ts``."""
        ts = ensure_utc(ts)
        day = to_new_york(ts).date()
        data = self._covering(day, day + timedelta(days=14))
        i = bisect_right(data.closes, ts)
        return data.closes[i]

    def minutes_to_close(self, ts: datetime) -> float | None:
        """Minutes from ``ts`` to the close of the open session; ``None`` when closed."""
        ts = ensure_utc(ts)
        hours = self._session_on(ts)
        if hours is None or not hours[0] <= ts < hours[1]:
            return None
        return (hours[1] - ts) / _ONE_MINUTE
