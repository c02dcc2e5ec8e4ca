"""The intraday features of one symbol's last bar, in numpy (the live scoring path).

Same definitions as ``core.features.intraday`` (``docs/features.md``), evaluated only on the
last bar of the current session: the polars plan costs milliseconds a call whatever the row
count, this costs tens of microseconds. A test pins it to the batch ``intraday_features``
(1e-9) on every bar of a session, so a change of definition there breaks it here.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final

import numpy as np

from core.calendar import NEW_YORK, MarketCalendar
from core.features.intraday import ATR_PERIOD, RSI_PERIOD, ZSCORE_PERIOD
from core.trading.window import RollingBars

COLUMNS: Final = ("high", "low", "close", "volume", "bid", "ask")
_FLAT_TOLERANCE: Final = 1e-12  # as ``core.features.indicators.zscore_from``
_MINUTE_US: Final = 60_000_000.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CALENDAR = MarketCalendar()


def _us(ts: datetime) -> int:
    return (ts - _EPOCH) // timedelta(microseconds=1)


@lru_cache(maxsize=64)
def session_start_us(day: date) -> int:
    """New York midnight of ``day`` (where its ``session`` partition begins), epoch µs."""
    return _us(datetime.combine(day, time(), NEW_YORK))


@lru_cache(maxsize=64)
def session_hours_us(day: date) -> tuple[int, int] | None:
    """XNYS open and close of ``day`` (epoch µs); None if ``day`` is not a session."""
    if not _CALENDAR.is_session(day):
        return None
    open_, close = _CALENDAR.session_open_close(day)
    return _us(open_), _us(close)


def _zscore(x: np.ndarray) -> float:
    if len(x) < ZSCORE_PERIOD:
        return math.nan
    window = x[-ZSCORE_PERIOD:]
    mean = float(window.mean())
    std = float(window.std(ddof=1))
    return (float(x[-1]) - mean) / std if std > _FLAT_TOLERANCE * abs(mean) else math.nan


def _wilder(x: np.ndarray, period: int) -> float:
    """Seed = mean of the first ``period`` values, then ``y = (1 - a) y + a x`` with ``a = 1/period``."""
    if len(x) < period:
        return math.nan
    alpha = 1.0 / period
    y = float(x[:period].mean())
    for value in x[period:].tolist():
        y = (1.0 - alpha) * y + alpha * value
    return y


def _rsi(close: np.ndarray) -> float:
    change = np.diff(close)
    gain = _wilder(np.clip(change, 0.0, None), RSI_PERIOD)
    loss = _wilder(np.clip(-change, 0.0, None), RSI_PERIOD)
    total = gain + loss
    if math.isnan(total):
        return math.nan
    return 100.0 * gain / total if total > 0 else 50.0


def _atr(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> float:
    prev = close[:-1]
    tr = np.empty(len(close))
    tr[0] = high[0] - low[0]
    tr[1:] = np.maximum(high[1:], prev) - np.minimum(low[1:], prev)
    return _wilder(tr, ATR_PERIOD)


def latest_intraday_row(window: RollingBars, symbol: str) -> dict[str, float] | None:
    """``INTRADAY_FEATURES`` of ``symbol``'s last bar (NaN where undefined).

    None when there is no bar, or when a price or volume of the session is missing: the
    caller then uses the polars expressions, whose null handling this does not copy.
    """
    last = window.last_ts_of(symbol)
    if last is None:
        return None
    day = last.astimezone(NEW_YORK).date()
    since = _EPOCH + timedelta(microseconds=session_start_us(day))
    high, low, close, volume, bid, ask = window.columns(symbol, COLUMNS, since=since)
    if not (np.isfinite(high).all() and np.isfinite(low).all() and np.isfinite(close).all()):
        return None
    if not np.isfinite(volume).all():
        return None
    h, lo, c, b, a = high[-1], low[-1], close[-1], bid[-1], ask[-1]  # numpy floats: x / 0 is inf
    mid = (a + b) / 2.0
    hours = session_hours_us(day)
    ts = _us(last)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = float((a - b) / mid) if mid > 0 else math.nan
        range_pct = float((h - lo) / c)
    return {
        "zscore": _zscore(close),
        "rsi": _rsi(close),
        "atr": _atr(high, low, close),
        "volume_zscore": _zscore(volume),
        "spread": spread,
        "range_pct": range_pct,
        "minutes_since_open": math.nan if hours is None else float(ts - hours[0]) / _MINUTE_US,
        "minutes_to_close": math.nan if hours is None else float(hours[1] - ts) / _MINUTE_US,
    }
