"""What a benchmark figure is recorded with: the machine's load around it and the thread settings.

A figure taken while the 1-minute load average was above the core count is marked and never
reported as the result (``Timing.quiet``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
CORES = os.cpu_count() or 1


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15-minute load averages (``/proc/loadavg``)."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def thread_settings() -> str:
    """Thread settings of every library this process may time, as one line."""
    parts = [f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"]
    if "polars" in sys.modules:
        import polars as pl

        env = os.environ.get("POLARS_MAX_THREADS", "unset")
        parts.append(f"POLARS_MAX_THREADS={env} (pool {pl.thread_pool_size()})")
    if "numba" in sys.modules:
        import numba

        parts.append(f"NUMBA_NUM_THREADS={getattr(numba.config, 'NUMBA_NUM_THREADS', '?')}")
    parts.append(f"{CORES} cores")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Timing(Generic[T]):
    """Best wall time of some runs, the load before the first and after the last run."""

    seconds: float
    runs: tuple[float, ...]
    load_before: float
    load_after: float
    value: T

    @property
    def quiet(self) -> bool:
        return max(self.load_before, self.load_after) <= CORES

    @property
    def load(self) -> str:
        mark = "" if self.quiet else f" (load above {CORES}: not a result)"
        return f"{self.load_before:.2f} / {self.load_after:.2f}{mark}"


def best_of(repeat: int, fn: Callable[[], T]) -> Timing[T]:
    """Run ``fn`` ``repeat`` times; the fastest run counts."""
    before = loadavg()[0]
    runs, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        runs.append(time.perf_counter() - t0)
    assert value is not None
    return Timing(min(runs), tuple(runs), before, loadavg()[0], value)
