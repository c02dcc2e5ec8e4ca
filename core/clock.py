"""The ``Clock`` port and its two implementations. Nothing else in raydesk reads the wall clock.

``LiveClock`` is the real time. ``SimClock`` is simulated time that can be set, advanced, run at a
speed factor against a real clock, or stepped as fast as events allow through its timer queue
(``call_at`` then ``run_until``): the replay engine and the scheduler use the latter.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from core.errors import InvalidValue


def ensure_utc(ts: datetime) -> datetime:
    """``ts`` converted to UTC; naive datetimes are refused rather than guessed."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidValue(f"timestamp must be timezone-aware, got naive {ts!r}")
    return ts.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep_until(self, when: datetime) -> None:
        """Block until ``when`` (returns at once if it has passed)."""
        ...


class LiveClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        delay = (ensure_utc(when) - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for measuring durations."""
        return time.monotonic()


@dataclass(order=True)
class _Timer:
    when: datetime
    seq: int
    callback: Callable[[], None] = field(compare=False)


class SimClock:
    """Simulated time.

    * ``set`` / ``advance`` move time by hand (never backwards).
    * ``speed``: with a factor, ``now()`` runs at ``speed`` × real time from the moment of the
      last ``set`` (``speed=None``, the default, freezes time between explicit moves).
    * ``call_at`` queues a callback; ``run_until`` jumps from timer to timer, running each at its
      time, as fast as the callbacks allow.
    """

    def __init__(
        self,
        start: datetime,
        speed: float | None = None,
        real_time: Callable[[], float] = time.monotonic,
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed is not None and speed <= 0:
            raise InvalidValue(f"speed must be positive, got {speed}")
        self._anchor = ensure_utc(start)
        self._speed = speed
        self._real_time = real_time
        self._real_sleep = real_sleep
        self._real_anchor = real_time()
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    @property
    def speed(self) -> float | None:
        return self._speed

    def now(self) -> datetime:
        if self._speed is None:
            return self._anchor
        elapsed = (self._real_time() - self._real_anchor) * self._speed
        return self._anchor + timedelta(seconds=elapsed)

    def set(self, ts: datetime) -> None:
        """Move to ``ts``; moving backwards raises ``InvalidValue``."""
        ts = ensure_utc(ts)
        if ts < self.now():
            raise InvalidValue(f"SimClock cannot go back from {self.now()} to {ts}")
        self._anchor = ts
        self._real_anchor = self._real_time()

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise InvalidValue(f"cannot advance by a negative interval {delta}")
        self.set(self.now() + delta)

    def sleep_until(self, when: datetime) -> None:
        """Frozen or stepping: jump to ``when``. At a speed factor: really sleep the scaled gap."""
        when = ensure_utc(when)
        gap = (when - self.now()).total_seconds()
        if gap <= 0:
            return
        if self._speed is not None:
            self._real_sleep(gap / self._speed)
        if self.now() < when:
            self.set(when)

    # -- event stepping --------------------------------------------------------------------
    def call_at(self, when: datetime, callback: Callable[[], None]) -> None:
        """Run ``callback`` when simulated time reaches ``when`` (in ``run_until``)."""
        heapq.heappush(self._timers, _Timer(ensure_utc(when), next(self._seq), callback))

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    def next_timer(self) -> datetime | None:
        return self._timers[0].when if self._timers else None

    def run_until(self, end: datetime) -> int:
        """Run every timer due up to ``end`` in time order (ties in insertion order).

        Callbacks may queue more timers. Time ends at ``end``. Returns the number of callbacks run.
        """
        end = ensure_utc(end)
        ran = 0
        while self._timers and self._timers[0].when <= end:
            timer = heapq.heappop(self._timers)
            self.sleep_until(timer.when)
            timer.callback()
            ran += 1
        self.sleep_until(end)
        return ran
