"""Bar builders shared by the feature, label and look-ahead tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from core.calendar import MarketCalendar

BAR_SCHEMA = {
    "symbol": pl.Utf8(),
    "ts": pl.Datetime("us", "UTC"),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "bid": pl.Float64(),
    "ask": pl.Float64(),
}


def _bars(symbols: list[str], stamps: list[datetime], seed: int, vol: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for sym in symbols:
        n = len(stamps)
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
        open_ = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0.0, vol / 4, n))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol, n)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol, n)))
        half = close * rng.uniform(1e-4, 1e-3, n)
        frames.append(
            pl.DataFrame(
                {
                    "symbol": [sym] * n,
                    "ts": stamps,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": rng.lognormal(8.0, 0.5, n).round(),
                    "bid": close - half,
                    "ask": close + half,
                },
                schema=BAR_SCHEMA,
            )
        )
    return pl.concat(frames)


def minute_bars(symbols: list[str], start: date, end: date, seed: int = 0) -> pl.DataFrame:
    """1-minute bars on every XNYS session minute from ``start`` to ``end``."""
    cal = MarketCalendar()
    stamps = [t for d in cal.sessions(start, end) for t in cal.session_minutes(d)]
    return _bars(symbols, stamps, seed, 1e-3)


def daily_bars(symbols: list[str], n_sessions: int, seed: int = 0) -> pl.DataFrame:
    """One bar per XNYS session (ts at the open), ``n_sessions`` from 2015-01-02."""
    cal = MarketCalendar()
    days = cal.sessions(date(2015, 1, 1), date(2015, 1, 1) + timedelta(days=2 * n_sessions))[:n_sessions]
    stamps = [cal.session_open_close(d)[0].astimezone(UTC) for d in days]
    return _bars(symbols, stamps, seed, 1.5e-2)
