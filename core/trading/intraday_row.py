"""The intraday features of each symbol's last bar, in numpy (the live path: rules and scoring).

Same definitions as ``core.features.intraday`` (``docs/features.md``), evaluated only on the
last bar of the current session, for all symbols of an event at once: the polars plan costs
milliseconds a call whatever the row count, this costs tens of microseconds a symbol. A test pins it to the batch ``intraday_features``
(1e-9) on every bar of a session, so a change of definition there breaks it here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
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


def _zscore(x: np.ndarray) -> np.ndarray:
    """Per row of ``x`` (symbols × bars): the z-score of its last value over the last period."""
    if x.shape[1] < ZSCORE_PERIOD:
        return np.full(x.shape[0], math.nan)
    window = x[:, -ZSCORE_PERIOD:]
    mean = window.mean(axis=1)
    std = window.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > _FLAT_TOLERANCE * np.abs(mean), (x[:, -1] - mean) / std, math.nan)


def _wilder(x: np.ndarray, period: int) -> np.ndarray:
    """Per row: seed = mean of the first ``period`` values, then ``y = (1 - a) y + a x``, ``a = 1/period``.

    Unrolled: ``y_m = (1 - a)^m seed + sum_j a (1 - a)^(m - 1 - j) x_j``, one matrix product (the
    inputs are gains, losses or true ranges, never negative, so nothing cancels).
    """
    if x.shape[1] < period:
        return np.full(x.shape[0], math.nan)
    alpha = 1.0 / period
    seed = x[:, :period].mean(axis=1)
    rest = x[:, period:]
    decay = (1.0 - alpha) ** np.arange(rest.shape[1] - 1, -1, -1, dtype=np.float64)
    result: np.ndarray = (1.0 - alpha) ** rest.shape[1] * seed + alpha * (rest @ decay)
    return result


def _rsi(close: np.ndarray) -> np.ndarray:
    change = np.diff(close, axis=1)
    gain = _wilder(np.clip(change, 0.0, None), RSI_PERIOD)
    loss = _wilder(np.clip(-change, 0.0, None), RSI_PERIOD)
    total = gain + loss
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 100.0 * gain / total, np.where(np.isnan(total), math.nan, 50.0))


def _atr(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    prev = close[:, :-1]
    tr = np.empty(close.shape)
    tr[:, 0] = high[:, 0] - low[:, 0]
    tr[:, 1:] = np.maximum(high[:, 1:], prev) - np.minimum(low[:, 1:], prev)
    return _wilder(tr, ATR_PERIOD)


def latest_intraday_rows(window: RollingBars, symbols: Iterable[str]) -> dict[str, dict[str, float]]:
    """``INTRADAY_FEATURES`` of each of ``symbols``' last bar (NaN where undefined), by symbol.

    A symbol without a bar, or with a price or volume of the session missing, is left out: the
    caller then uses the polars expressions, whose null handling this does not copy.

    Symbols whose session so far has the same bars (the usual bar event) are computed together,
    one array operation for all of them.
    """
    groups: dict[tuple[int, int], list[tuple[str, list[np.ndarray]]]] = {}
    for symbol in symbols:
        last = window.last_ts_of(symbol)
        if last is None:
            continue
        day = last.astimezone(NEW_YORK).date()
        since = _EPOCH + timedelta(microseconds=session_start_us(day))
        columns = window.columns(symbol, COLUMNS, since=since)
        if not all(np.isfinite(c).all() for c in columns[:4]):  # high, low, close, volume
            continue
        groups.setdefault((_us(last), len(columns[0])), []).append((symbol, columns))
    rows: dict[str, dict[str, float]] = {}
    for (ts, _), members in groups.items():
        rows.update(_group_rows(ts, members))
    return rows


def _group_rows(ts: int, members: list[tuple[str, list[np.ndarray]]]) -> dict[str, dict[str, float]]:
    high, low, close, volume, bid, ask = (np.stack([m[1][i] for m in members]) for i in range(len(COLUMNS)))
    h, lo, c, b, a = high[:, -1], low[:, -1], close[:, -1], bid[:, -1], ask[:, -1]
    mid = (a + b) / 2.0
    hours = session_hours_us(datetime.fromtimestamp(ts / 1e6, UTC).astimezone(NEW_YORK).date())
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(mid > 0, (a - b) / mid, math.nan)
        range_pct = (h - lo) / c
    since_open = math.nan if hours is None else float(ts - hours[0]) / _MINUTE_US
    to_close = math.nan if hours is None else float(hours[1] - ts) / _MINUTE_US
    features = {
        "zscore": _zscore(close),
        "rsi": _rsi(close),
        "atr": _atr(high, low, close),
        "volume_zscore": _zscore(volume),
        "spread": spread,
        "range_pct": range_pct,
    }
    return {
        symbol: {name: float(values[i]) for name, values in features.items()}
        | {"minutes_since_open": since_open, "minutes_to_close": to_close}
        for i, (symbol, _) in enumerate(members)
    }
