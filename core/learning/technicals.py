"""Technicals of the traded symbol at entry: MACD, Bollinger bands, support/resistance, sector.

From daily closes of sessions complete at the entry (nothing later): MACD(12, 26, 9) with its
signal and histogram, Bollinger bands (20 sessions, 2 standard deviations) with %B and width,
support and resistance as the lowest and highest close of the last 20 sessions, and the
sector from a symbol metadata mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.errors import DataError

__all__ = ["ClosesTechnicals", "NoTechnicals", "Technicals", "TechnicalsProvider", "technicals_of"]

_WINDOW = 20


@dataclass(frozen=True, slots=True)
class Technicals:
    macd: float | None = None
    macd_signal: float | None = None
    macd_hist: float | None = None
    bb_upper: float | None = None
    bb_middle: float | None = None
    bb_lower: float | None = None
    bb_pct_b: float | None = None
    bb_width_pct: float | None = None
    support: float | None = None
    resistance: float | None = None
    support_distance_pct: float | None = None
    resistance_distance_pct: float | None = None
    sector: str | None = None

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@runtime_checkable
class TechnicalsProvider(Protocol):
    def technicals(self, symbol: str, ts: datetime) -> Technicals: ...


class NoTechnicals:
    def technicals(self, symbol: str, ts: datetime) -> Technicals:
        return Technicals()


def _ema_series(values: Sequence[float], span: int) -> list[float]:
    """EMA seeded with the mean of the first ``span`` values; one value per input from there."""
    if len(values) < span:
        return []
    alpha = 2.0 / (span + 1)
    ema = sum(values[:span]) / span
    out = [ema]
    for v in values[span:]:
        ema += alpha * (v - ema)
        out.append(ema)
    return out


def _macd(closes: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    fast, slow = _ema_series(closes, 12), _ema_series(closes, 26)
    if not slow:
        return None, None, None
    line = [f - s for f, s in zip(fast[len(fast) - len(slow) :], slow, strict=True)]
    signal = _ema_series(line, 9)
    if not signal:
        return line[-1], None, None
    return line[-1], signal[-1], line[-1] - signal[-1]


def _pct(a: float, b: float) -> float | None:
    return (a / b - 1) * 100 if b else None


def technicals_of(closes: Sequence[float], sector: str | None = None) -> Technicals:
    """The technicals of daily ``closes`` (oldest first; the last is the latest complete session)."""
    macd, signal, hist = _macd(closes)
    if len(closes) < _WINDOW:
        return Technicals(macd, signal, hist, sector=sector)
    window = closes[-_WINDOW:]
    mean = sum(window) / _WINDOW
    sd = math.sqrt(sum((c - mean) ** 2 for c in window) / _WINDOW)
    upper, lower, last = mean + 2 * sd, mean - 2 * sd, closes[-1]
    support, resistance = min(window), max(window)
    return Technicals(
        macd,
        signal,
        hist,
        upper,
        mean,
        lower,
        (last - lower) / (upper - lower) if upper > lower else None,
        (upper - lower) / mean * 100 if mean else None,
        support,
        resistance,
        _pct(last, support),
        _pct(resistance, last),
        sector,
    )


class ClosesTechnicals:
    """Technicals from ``closes(symbol, ts)`` (as for ``DailyClosesContext``) and a sector map."""

    def __init__(
        self, closes: Callable[[str, datetime], Sequence[float]], sectors: Mapping[str, str]
    ) -> None:
        self._closes = closes
        self._sectors = dict(sectors)

    def technicals(self, symbol: str, ts: datetime) -> Technicals:
        sector = self._sectors.get(symbol)
        try:
            closes = list(self._closes(symbol, ts))
        except (LookupError, DataError):
            return Technicals(sector=sector)
        return technicals_of(closes, sector)
