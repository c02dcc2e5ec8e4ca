from datetime import UTC, datetime, timedelta

import pytest

from core.clock import Clock, LiveClock, SimClock
from core.errors import InvalidValue

T0 = datetime(2025, 11, 3, 14, 30, tzinfo=UTC)


def test_live_clock_is_aware_utc() -> None:
    now = LiveClock().now()
    assert now.tzinfo is UTC
    assert isinstance(LiveClock(), Clock)


def test_sim_clock_set_advance_and_no_going_back() -> None:
    c = SimClock(T0)
    assert c.now() == T0
    c.advance(timedelta(minutes=5))
    assert c.now() == T0 + timedelta(minutes=5)
    with pytest.raises(InvalidValue):
        c.set(T0)
    with pytest.raises(InvalidValue):
        SimClock(datetime(2025, 1, 1))


def test_sim_clock_speed_factor_uses_injected_real_time() -> None:
    real = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        real[0] += s

    c = SimClock(T0, speed=60.0, real_time=lambda: real[0], real_sleep=sleep)
    real[0] += 2.0  # two real seconds = two simulated minutes
    assert c.now() == T0 + timedelta(minutes=2)
    c.sleep_until(T0 + timedelta(minutes=5))
    assert slept == [pytest.approx(3.0)]
    assert c.now() == T0 + timedelta(minutes=5)


def test_sim_clock_steps_through_timers_in_order() -> None:
    c = SimClock(T0)
    seen: list[tuple[str, datetime]] = []
    c.call_at(T0 + timedelta(minutes=2), lambda: seen.append(("b", c.now())))
    c.call_at(T0 + timedelta(minutes=1), lambda: seen.append(("a", c.now())))

    def chain() -> None:
        seen.append(("c", c.now()))
        c.call_at(c.now() + timedelta(minutes=1), lambda: seen.append(("d", c.now())))

    c.call_at(T0 + timedelta(minutes=2), chain)
    ran = c.run_until(T0 + timedelta(minutes=10))
    assert ran == 4
    assert [s for s, _ in seen] == ["a", "b", "c", "d"]
    assert seen[3][1] == T0 + timedelta(minutes=3)
    assert c.now() == T0 + timedelta(minutes=10)
