"""``LatencyRecorder``: durations (bar event → order submitted, whole cycles) and their percentiles.

The timer is injected (``time.perf_counter`` in production): latency is measured, never used to
decide anything, so it may read a real monotonic counter without breaking determinism.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from core.errors import InvalidValue

Timer = Callable[[], float]


class LatencyRecorder:
    """The last ``window`` samples (seconds) with nearest-rank percentiles."""

    def __init__(self, timer: Timer, window: int = 10_000) -> None:
        if window < 1:
            raise InvalidValue(f"latency window must be at least 1, got {window}")
        self._timer = timer
        self._samples: deque[float] = deque(maxlen=window)
        self.total = 0

    def now(self) -> float:
        """The timer's reading, to pass back to ``since``."""
        return self._timer()

    def since(self, start: float) -> float:
        """Record the time elapsed since ``start`` (a ``now()`` reading); returns it."""
        elapsed = self._timer() - start
        self.record(elapsed)
        return elapsed

    def record(self, seconds: float) -> None:
        if seconds < 0 or math.isnan(seconds):
            raise InvalidValue(f"a latency must be a non-negative number, got {seconds}")
        self._samples.append(seconds)
        self.total += 1

    @property
    def count(self) -> int:
        """Samples held (at most ``window``); ``total`` counts every sample ever recorded."""
        return len(self._samples)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank ``q``-th percentile (0 < q <= 100) in seconds; None without samples."""
        if not 0 < q <= 100:
            raise InvalidValue(f"percentile must be in (0, 100], got {q}")
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    @property
    def p50(self) -> float | None:
        return self.percentile(50)

    @property
    def p99(self) -> float | None:
        return self.percentile(99)

    @property
    def max(self) -> float | None:
        return max(self._samples) if self._samples else None

    def summary(self) -> dict[str, Any]:
        """``{count, total, p50_ms, p99_ms, max_ms}`` (milliseconds, None without samples)."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "count": self.count,
            "total": self.total,
            "p50_ms": ms(self.p50),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
        }
