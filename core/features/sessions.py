"""The session (New York date) of a bar and the session's real open and close.

``session_hours`` is the only place the feature code touches the market calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

import polars as pl

from core.calendar import NEW_YORK, MarketCalendar

__all__ = [
    "SESSION_HOURS_SCHEMA",
    "session_expr",
    "session_hours",
    "with_session",
    "with_session_and_hours",
    "with_session_hours",
]

SESSION_HOURS_SCHEMA = {
    "session": pl.Date(),
    "session_open": pl.Datetime("us", "UTC"),
    "session_close": pl.Datetime("us", "UTC"),
}


def session_expr(ts: str = "ts") -> pl.Expr:
    """The New York calendar date of a UTC bar timestamp."""
    return pl.col(ts).dt.convert_time_zone(str(NEW_YORK)).dt.date().alias("session")


def with_session(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``session`` unless the frame already carries it."""
    if "session" in frame.collect_schema().names():
        return frame
    return frame.with_columns(session_expr())


@lru_cache(maxsize=64)
def session_hours(start: date, end: date) -> pl.DataFrame:
    """Every XNYS session from ``start`` to ``end`` with its open and close (UTC)."""
    calendar = MarketCalendar()
    days = calendar.sessions(start, end)
    hours = [calendar.session_open_close(d) for d in days]
    return pl.DataFrame(
        {"session": days, "session_open": [h[0] for h in hours], "session_close": [h[1] for h in hours]},
        schema=SESSION_HOURS_SCHEMA,
    )


_HOUR_US = 3_600_000_000
# New York's UTC offset has changed only on whole UTC hours since 1883; the lookup below
# relies on it, from a safe margin on, over spans of at most this many hours (~114 years).
_LOOKUP_FROM = datetime(1970, 1, 1, tzinfo=UTC)
_LOOKUP_MAX_HOURS = 1_000_000


def with_session_and_hours(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``with_session`` then ``with_session_hours``, faster on a frame of UTC timestamps.

    The New York date is the same for every instant of one UTC hour, so it is looked up per
    hour from a small table spanning the frame (one eager read of the min and max ``ts``)
    instead of converting millions of timestamps; values are identical.
    """
    schema = frame.collect_schema()
    if "session" in schema.names() or schema["ts"] != pl.Datetime("us", "UTC"):
        return with_session_hours(with_session(frame))
    lo, hi = frame.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).collect().row(0)
    if lo is None or lo < _LOOKUP_FROM or (hi - lo).total_seconds() / 3600 > _LOOKUP_MAX_HOURS:
        return with_session_hours(with_session(frame))
    first = lo.replace(minute=0, second=0, microsecond=0)
    hours = pl.datetime_range(first, hi, "1h", time_unit="us", time_zone="UTC", eager=True)
    dates = hours.dt.convert_time_zone(str(NEW_YORK)).dt.date()
    start_us = int(pl.Series([first]).dt.epoch("us")[0])
    offset = (pl.col("ts").dt.epoch("us") - start_us) // _HOUR_US
    with_dates = frame.with_columns(pl.lit(dates).gather(offset).alias("session"))
    return _add_hours(with_dates, dates[0], dates[-1])


def with_session_hours(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``session_open`` / ``session_close``; null on a date that is not a session.

    Reads only the min and max ``session`` of the frame to size the calendar lookup, then
    gathers from a dense per-calendar-day table (much cheaper than a join on millions of rows).
    """
    bounds = frame.select(pl.col("session").min().alias("lo"), pl.col("session").max().alias("hi")).collect()
    lo, hi = bounds.row(0)
    if lo is None:
        return frame.with_columns(
            pl.lit(None, SESSION_HOURS_SCHEMA["session_open"]).alias("session_open"),
            pl.lit(None, SESSION_HOURS_SCHEMA["session_close"]).alias("session_close"),
        )
    return _add_hours(frame, lo, hi)


def _add_hours(frame: pl.LazyFrame, lo: date, hi: date) -> pl.LazyFrame:
    """Gather ``session_open`` / ``session_close`` for ``session`` dates within ``[lo, hi]``."""
    dense = _dense_hours(lo, hi)
    offset = pl.col("session").cast(pl.Int32) - pl.lit(lo).cast(pl.Int32)
    return frame.with_columns(
        pl.lit(dense["session_open"]).gather(offset).alias("session_open"),
        pl.lit(dense["session_close"]).gather(offset).alias("session_close"),
    )


@lru_cache(maxsize=64)
def _dense_hours(start: date, end: date) -> pl.DataFrame:
    """One row per calendar day from ``start`` to ``end``; null hours on non-sessions."""
    days = pl.DataFrame({"session": pl.date_range(start, end, "1d", eager=True)})
    return days.join(session_hours(start, end), on="session", how="left", maintain_order="left")
