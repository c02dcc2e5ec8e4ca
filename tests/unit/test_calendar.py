from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.calendar import NEW_YORK, MarketCalendar, to_new_york
from core.errors import InvalidValue


def ny(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=NEW_YORK)


@pytest.fixture(scope="module")
def cal() -> MarketCalendar:
    return MarketCalendar()


def test_day_after_thanksgiving_2025_closes_at_1300_new_york(cal: MarketCalendar) -> None:
    d = date(2025, 11, 28)
    market_open, market_close = cal.session_open_close(d)
    assert to_new_york(market_open) == ny(2025, 11, 28, 9, 30)
    assert to_new_york(market_close) == ny(2025, 11, 28, 13, 0)
    assert market_close.tzinfo is not None and market_close.utcoffset() == timedelta(0)
    assert cal.is_early_close(d)
    assert not cal.is_early_close(date(2025, 11, 26))
    assert d in cal.early_closes(date(2025, 11, 1), date(2025, 12, 31))
    assert date(2025, 12, 24) in cal.early_closes(date(2025, 11, 1), date(2025, 12, 31))


def test_christmas_2025_and_new_year_2026_are_holidays(cal: MarketCalendar) -> None:
    assert not cal.is_session(date(2025, 12, 25))
    assert not cal.is_session(date(2026, 1, 1))
    assert cal.is_session(date(2025, 12, 26))
    holidays = cal.holidays(date(2025, 12, 20), date(2026, 1, 5))
    # weekends are not holidays; only closed weekdays are
    assert holidays == [date(2025, 12, 25), date(2026, 1, 1)]
    assert cal.sessions(date(2025, 12, 24), date(2025, 12, 29)) == [
        date(2025, 12, 24),
        date(2025, 12, 26),
        date(2025, 12, 29),
    ]
    with pytest.raises(InvalidValue, match="2025-12-25"):
        cal.session_open_close(date(2025, 12, 25))


def test_is_open_includes_the_open_and_excludes_the_close(cal: MarketCalendar) -> None:
    assert not cal.is_open(ny(2025, 11, 26, 9, 29))
    assert cal.is_open(ny(2025, 11, 26, 9, 30))
    assert cal.is_open(ny(2025, 11, 26, 15, 59))
    assert not cal.is_open(ny(2025, 11, 26, 16, 0))
    # early close
    assert cal.is_open(ny(2025, 11, 28, 12, 59))
    assert not cal.is_open(ny(2025, 11, 28, 13, 0))
    assert not cal.is_open(ny(2025, 11, 28, 15, 0))
    # holiday and weekend, during regular hours
    assert not cal.is_open(ny(2025, 11, 27, 11, 0))
    assert not cal.is_open(ny(2025, 11, 29, 11, 0))


def test_is_open_accepts_any_timezone(cal: MarketCalendar) -> None:
    tokyo = timezone(timedelta(hours=9))
    # 2025-11-26 10:00 New York is 2025-11-27 00:00 in UTC+9
    assert cal.is_open(datetime(2025, 11, 27, 0, 0, tzinfo=tokyo))


def test_next_open_from_friday_evening_is_monday_0930(cal: MarketCalendar) -> None:
    friday_evening = ny(2025, 11, 21, 18, 0)
    assert to_new_york(cal.next_open(friday_evening)) == ny(2025, 11, 24, 9, 30)
    assert cal.next_open(friday_evening).tzinfo is not None


def test_next_open_skips_holiday_and_next_close_honours_early_close(cal: MarketCalendar) -> None:
    wednesday_evening = ny(2025, 11, 26, 17, 0)
    assert to_new_york(cal.next_open(wednesday_evening)) == ny(2025, 11, 28, 9, 30)
    assert to_new_york(cal.next_close(wednesday_evening)) == ny(2025, 11, 28, 13, 0)
    # at the open exactly, the next open is the following session's
    assert to_new_york(cal.next_open(ny(2025, 11, 28, 9, 30))) == ny(2025, 12, 1, 9, 30)
    assert to_new_york(cal.next_close(ny(2025, 11, 28, 9, 30))) == ny(2025, 11, 28, 13, 0)


def test_minutes_to_close(cal: MarketCalendar) -> None:
    assert cal.minutes_to_close(ny(2025, 11, 26, 15, 30)) == 30.0
    assert cal.minutes_to_close(ny(2025, 11, 26, 15, 59) + timedelta(seconds=30)) == 0.5
    assert cal.minutes_to_close(ny(2025, 11, 28, 12, 45)) == 15.0
    assert cal.minutes_to_close(ny(2025, 11, 26, 9, 0)) is None
    assert cal.minutes_to_close(ny(2025, 11, 26, 16, 0)) is None
    assert cal.minutes_to_close(ny(2025, 11, 27, 12, 0)) is None


def test_open_in_utc_moves_with_daylight_saving(cal: MarketCalendar) -> None:
    winter_open, winter_close = cal.session_open_close(date(2025, 1, 15))
    summer_open, summer_close = cal.session_open_close(date(2025, 7, 15))
    assert winter_open == datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
    assert winter_close == datetime(2025, 1, 15, 21, 0, tzinfo=UTC)
    assert summer_open == datetime(2025, 7, 15, 13, 30, tzinfo=UTC)
    assert summer_close == datetime(2025, 7, 15, 20, 0, tzinfo=UTC)


def test_naive_timestamp_is_rejected(cal: MarketCalendar) -> None:
    naive = datetime(2025, 11, 26, 15, 0)
    for call in (cal.is_open, cal.next_open, cal.next_close, cal.minutes_to_close):
        with pytest.raises(InvalidValue, match="timezone-aware"):
            call(naive)


def test_session_minutes_are_bar_starts(cal: MarketCalendar) -> None:
    full = cal.session_minutes(date(2025, 11, 26))
    assert len(full) == 390
    assert to_new_york(full[0]) == ny(2025, 11, 26, 9, 30)
    assert to_new_york(full[-1]) == ny(2025, 11, 26, 15, 59)
    assert len(cal.session_minutes(date(2025, 11, 28))) == 210


def test_next_and_previous_session_skip_weekends_and_holidays(cal: MarketCalendar) -> None:
    assert cal.next_session(date(2025, 12, 24)) == date(2025, 12, 26)
    assert cal.next_session(date(2025, 11, 21)) == date(2025, 11, 24)
    assert cal.previous_session(date(2025, 11, 28)) == date(2025, 11, 26)
    assert cal.previous_session(date(2026, 1, 2)) == date(2025, 12, 31)
    # from a non-session day too
    assert cal.next_session(date(2025, 11, 27)) == date(2025, 11, 28)


def test_calendar_widens_beyond_its_default_bounds() -> None:
    cal = MarketCalendar()
    # 2040-01-01 (New Year's Day) falls on a Sunday, observed Monday 2040-01-02
    assert cal.holidays(date(2039, 12, 30), date(2040, 1, 3)) == [date(2040, 1, 2)]
    assert cal.is_session(date(1990, 1, 2))
    assert MarketCalendar(date(1995, 1, 1), date(1995, 12, 31)).is_session(date(1995, 7, 5))


def test_start_after_end_rejected() -> None:
    with pytest.raises(InvalidValue):
        MarketCalendar(date(2025, 2, 1), date(2025, 1, 1))
