"""When a task fires: calendar-aware triggers in America/New_York.

Each trigger turns one calendar day into the instants (UTC) that belong to it, with the session
they belong to. Session-bound triggers (``AtSessionTime``, ``AtClock``, ``Every``) fire on
sessions only, so never on weekends or holidays, and anchors follow the day's real open and
close (early closes move them). ``Nightly`` fires once after each session; ``Weekly`` fires
every week whatever the calendar says.

Wall times are New York times. A wall time that does not exist (the spring-forward hour) fires
at the same instant as the hour before it would (02:30 → 03:30 EDT); an ambiguous one (the
fall-back hour) fires on its first, daylight-time, pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol

from core.calendar import NEW_YORK, MarketCalendar
from core.errors import InvalidValue

__all__ = [
    "Anchor",
    "AtClock",
    "AtSessionTime",
    "Every",
    "Fire",
    "Nightly",
    "SessionPoint",
    "SessionTime",
    "Trigger",
    "Weekly",
    "wall_time",
]

Anchor = Literal["open", "close"]
Fire = tuple[datetime, date | None]
"""One firing: the due instant (UTC) and the session it belongs to (``None``: no session)."""


def wall_time(day: date, at: time) -> datetime:
    """``at`` on ``day`` in New York, as UTC."""
    if at.tzinfo is not None:
        raise InvalidValue(f"schedule times are New York wall times, got tz-aware {at!r}")
    return datetime.combine(day, at, tzinfo=NEW_YORK).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SessionTime:
    """A point of a session: its open or close plus ``offset`` (negative: before)."""

    anchor: Anchor
    offset: timedelta = timedelta(0)

    def resolve(self, session: date, calendar: MarketCalendar) -> datetime:
        market_open, market_close = calendar.session_open_close(session)
        return (market_open if self.anchor == "open" else market_close) + self.offset


SessionPoint = SessionTime | time
"""A session-relative point, or a fixed New York wall time on the session's date."""


def _resolve(point: SessionPoint, session: date, calendar: MarketCalendar) -> datetime:
    return point.resolve(session, calendar) if isinstance(point, SessionTime) else wall_time(session, point)


class Trigger(Protocol):
    """Produces the firings that belong to a calendar day."""

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]: ...


@dataclass(frozen=True, slots=True)
class AtSessionTime:
    """Once per session at ``anchor + offset`` (e.g. close − 10 min: 12:50 on an early close)."""

    anchor: Anchor
    offset: timedelta = timedelta(0)

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]:
        if not calendar.is_session(day):
            return []
        return [(SessionTime(self.anchor, self.offset).resolve(day, calendar), day)]


@dataclass(frozen=True, slots=True)
class AtClock:
    """Once per session at a New York wall time (e.g. 08:30, before the open)."""

    at: time

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]:
        if not calendar.is_session(day):
            return []
        return [(wall_time(day, self.at), day)]


@dataclass(frozen=True, slots=True)
class Every:
    """Every ``interval`` from ``start`` to ``end`` (both included) on each session.

    ``not_after`` clips the end on days where it comes earlier: the options cycle runs
    09:45–14:45 but never later than close − 15 min, so an early close (13:00) ends it at 12:45.
    """

    interval: timedelta
    start: SessionPoint
    end: SessionPoint
    not_after: SessionTime | None = None

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise InvalidValue(f"Every interval must be positive, got {self.interval}")

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]:
        if not calendar.is_session(day):
            return []
        first = _resolve(self.start, day, calendar)
        last = _resolve(self.end, day, calendar)
        if self.not_after is not None:
            last = min(last, self.not_after.resolve(day, calendar))
        if last < first:
            return []
        count = (last - first) // self.interval + 1
        return [(first + n * self.interval, day) for n in range(count)]


@dataclass(frozen=True, slots=True)
class Nightly:
    """Once after each session, at the first ``at`` (New York) after its close.

    02:00 after Friday's session is Saturday 02:00; a holiday has no session, so nothing fires
    the night after it. The firing belongs to the session just closed and must come before the
    next open (a time inside trading hours is refused).
    """

    at: time

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]:
        if not calendar.is_session(day):
            return []
        _, market_close = calendar.session_open_close(day)
        due = wall_time(day, self.at)
        if due <= market_close:
            due = wall_time(day + timedelta(days=1), self.at)
        if due >= calendar.next_open(market_close):
            raise InvalidValue(f"Nightly({self.at}) after {day} would fire after the next open")
        return [(due, day)]


@dataclass(frozen=True, slots=True)
class Weekly:
    """Every week on ``weekday`` (Monday = 0 … Sunday = 6) at a New York wall time."""

    weekday: int
    at: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise InvalidValue(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")

    def fire(self, day: date, calendar: MarketCalendar) -> list[Fire]:
        return [(wall_time(day, self.at), None)] if day.weekday() == self.weekday else []
