"""The session (New York date) of a bar and the session's real open and close.

``session_hours`` is the only place the feature code touches the market calendar.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import polars as pl

from core.calendar import NEW_YORK, MarketCalendar

__all__ = ["SESSION_HOURS_SCHEMA", "session_expr", "session_hours", "with_session", "with_session_hours"]

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
