"""When a bar's signal may be acted on: the daily next-session rule and the intraday age limit.

A daily bar is stamped at its session's close. Like the backtester (a signal on a bar fills at
the next bar's open), the desk acts on it in the *next* session: the bar of session D reaches
the accounts at the end of D+1's first minute (``daily_delivery``), and its entries are fresh
only while D+1 is open. An intraday bar's signal is fresh for ``max_signal_age`` after the bar
completed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

from core.calendar import MarketCalendar, to_new_york
from core.clock import ensure_utc

DAILY: Final = "1d"
FIRST_MINUTE: Final = timedelta(minutes=1)
BAR_MINUTES: Final = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60}


def daily_delivery(session: date, calendar: MarketCalendar) -> datetime:
    """When ``session``'s daily bar reaches the accounts: the end of the next session's first minute."""
    open_, _ = calendar.session_open_close(calendar.next_session(session))
    return open_ + FIRST_MINUTE


def delivered_session(until: datetime, calendar: MarketCalendar) -> date:
    """The latest session whose daily bar was delivered by ``until`` (warm-up reads up to it)."""
    day = to_new_york(until).date()
    session = day if calendar.is_session(day) else calendar.previous_session(day)
    while daily_delivery(session, calendar) > ensure_utc(until):
        session = calendar.previous_session(session)
    return session


def daily_signal_wait(bar_ts: datetime, now: datetime, calendar: MarketCalendar) -> str | None:
    """Why a signal on the daily bar stamped ``bar_ts`` may not be acted on at ``now`` (``None``: it may).

    Fresh exactly while the session after the bar's is open: earlier is look-ahead of the
    next-open convention, later is a stale signal (a missed session is not traded late).
    """
    bar_session = to_new_york(bar_ts).date()
    acting = calendar.next_session(bar_session)
    open_, close = calendar.session_open_close(acting)
    now = ensure_utc(now)
    if now < open_:
        return f"daily signal of {bar_session} acts at the open of {acting}"
    if now >= close:
        return f"daily signal of {bar_session} is stale (it was for the session of {acting})"
    return None


def signal_wait(
    timeframe: str, bar_ts: datetime, now: datetime, calendar: MarketCalendar, max_age: timedelta
) -> str | None:
    """Why an entry on the ``timeframe`` bar starting ``bar_ts`` is not taken at ``now`` (``None``: take it)."""
    if timeframe == DAILY:
        return daily_signal_wait(bar_ts, now, calendar)
    age = ensure_utc(now) - ensure_utc(bar_ts) - timedelta(minutes=BAR_MINUTES.get(timeframe, 0))
    return f"signal {age} old" if age > max_age else None


def flatten_window(
    now: datetime, calendar: MarketCalendar, minutes_before_close: int
) -> tuple[datetime, datetime] | None:
    """From the flatten cut-off to the close of ``now``'s session (early closes included); None
    on a day without a session."""
    day = to_new_york(now).date()
    if not calendar.is_session(day):
        return None
    _, close = calendar.session_open_close(day)
    return close - timedelta(minutes=minutes_before_close), close
