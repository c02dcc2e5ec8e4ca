"""``RollingBars``: a bounded per-symbol window of recent bars, exposed as a polars frame.

Each symbol keeps its last ``capacity`` bars in numpy arrays of twice that length: an append
writes one row, and only when the array is full are the newest ``capacity`` rows moved to its
front, so appending is O(1) amortised and building a frame is a slice per column.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import polars as pl

from core.errors import DataError, InvalidValue

TS_DTYPE: Final = pl.Datetime("us", "UTC")
PRICE_COLUMNS: Final[tuple[str, ...]] = ("open", "high", "low", "close", "volume", "bid", "ask")
BAR_COLUMNS: Final[tuple[str, ...]] = ("symbol", "ts", *PRICE_COLUMNS)
_REQUIRED: Final = frozenset(BAR_COLUMNS[:7])
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class _SymbolBuffer:
    __slots__ = ("end", "start", "ts", "values")

    def __init__(self, capacity: int) -> None:
        self.ts = np.zeros(2 * capacity, dtype=np.int64)
        self.values = np.full((2 * capacity, len(PRICE_COLUMNS)), np.nan, dtype=np.float64)
        self.start = 0
        self.end = 0

    def append(self, ts: int, row: np.ndarray, capacity: int) -> bool:
        if self.end > self.start and ts <= self.ts[self.end - 1]:
            return False  # a replayed or out-of-order bar: the window only moves forward
        if self.end == len(self.ts):
            keep = capacity - 1
            self.ts[:keep] = self.ts[self.end - keep : self.end]
            self.values[:keep] = self.values[self.end - keep : self.end]
            self.start, self.end = 0, keep
        self.ts[self.end] = ts
        self.values[self.end] = row
        self.end += 1
        if self.end - self.start > capacity:
            self.start = self.end - capacity
        return True

    def size(self) -> int:
        return self.end - self.start


class RollingBars:
    """The last ``capacity`` bars of each symbol (bar schema: symbol, ts, OHLCV, bid, ask)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise InvalidValue(f"window capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._buffers: dict[str, _SymbolBuffer] = {}
        self._last_ts: int | None = None

    # -- writes ----------------------------------------------------------------------------
    def append(self, bars: pl.DataFrame) -> int:
        """Append ``bars`` (any symbols, any order within a symbol is sorted); returns rows kept.

        A bar not newer than its symbol's last one is ignored, so a replayed event is harmless.
        ``bid`` / ``ask`` may be missing (stored as NaN, read back as null).
        """
        missing = _REQUIRED - set(bars.columns)
        if missing:
            raise DataError(f"bars lack columns {sorted(missing)}")
        if bars.height == 0:
            return 0
        symbols = bars.get_column("symbol").to_list()
        # One row per symbol (the usual bar event) needs no sort.
        frame = bars if len(set(symbols)) == len(symbols) else bars.sort("symbol", "ts")
        if frame is not bars:
            symbols = frame.get_column("symbol").to_list()
        ts = _epoch_us(frame.get_column("ts"))
        values = np.full((frame.height, len(PRICE_COLUMNS)), np.nan)
        for j, name in enumerate(PRICE_COLUMNS):
            if name in frame.columns:
                # Per column (no frame-wide select): a null becomes NaN in a float array.
                values[:, j] = frame.get_column(name).cast(pl.Float64).to_numpy()
        kept = 0
        for i, symbol in enumerate(symbols):
            buffer = self._buffers.get(symbol)
            if buffer is None:
                buffer = self._buffers[symbol] = _SymbolBuffer(self.capacity)
            if buffer.append(int(ts[i]), values[i], self.capacity):
                kept += 1
                if self._last_ts is None or ts[i] > self._last_ts:
                    self._last_ts = int(ts[i])
        return kept

    def extend(self, frames: Iterable[pl.DataFrame]) -> int:
        """Append several frames in order (a warm-up from history)."""
        return sum(self.append(f) for f in frames)

    def clear(self) -> None:
        self._buffers.clear()
        self._last_ts = None

    # -- reads -----------------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return sorted(self._buffers)

    def rows(self, symbol: str) -> int:
        buffer = self._buffers.get(symbol)
        return 0 if buffer is None else buffer.size()

    @property
    def last_ts(self) -> datetime | None:
        """The newest bar start across symbols."""
        return None if self._last_ts is None else _from_us(self._last_ts)

    def last_ts_of(self, symbol: str) -> datetime | None:
        """The start of ``symbol``'s last bar, or None."""
        buffer = self._buffers.get(symbol)
        if buffer is None or buffer.size() == 0:
            return None
        return _from_us(int(buffer.ts[buffer.end - 1]))

    def latest(self, symbol: str) -> Mapping[str, Any] | None:
        """The last bar of ``symbol`` as a mapping (``ts`` a datetime), or None."""
        buffer = self._buffers.get(symbol)
        if buffer is None or buffer.size() == 0:
            return None
        i = buffer.end - 1
        row: dict[str, Any] = {"symbol": symbol, "ts": _from_us(int(buffer.ts[i]))}
        for j, name in enumerate(PRICE_COLUMNS):
            value = float(buffer.values[i, j])
            row[name] = None if np.isnan(value) else value
        return row

    def columns(self, symbol: str, names: Sequence[str], since: datetime | None = None) -> list[np.ndarray]:
        """Copies of ``symbol``'s columns ``names`` (price columns) over bars from ``since`` on."""
        buffer = self._buffers.get(symbol)
        if buffer is None:
            return [np.empty(0) for _ in names]
        start = buffer.start
        if since is not None:
            cut = int((since - _EPOCH) // timedelta(microseconds=1))
            start += int(np.searchsorted(buffer.ts[buffer.start : buffer.end], cut, side="left"))
        return [buffer.values[start : buffer.end, PRICE_COLUMNS.index(n)].copy() for n in names]

    def frame(self, symbols: Collection[str] | None = None, last: int | None = None) -> pl.DataFrame:
        """The window sorted by ``(symbol, ts)``; only ``symbols`` and their ``last`` rows if given."""
        names = self.symbols if symbols is None else sorted(s for s in set(symbols) if s in self._buffers)
        ts_parts: list[np.ndarray] = []
        value_parts: list[np.ndarray] = []
        counts: list[int] = []
        for name in names:
            buffer = self._buffers[name]
            start = buffer.start if last is None else max(buffer.start, buffer.end - last)
            ts_parts.append(buffer.ts[start : buffer.end])
            value_parts.append(buffer.values[start : buffer.end])
            counts.append(buffer.end - start)
        if not names:
            return empty_bars()
        ts = np.concatenate(ts_parts)
        values = np.concatenate(value_parts)
        index = np.repeat(np.arange(len(names), dtype=np.uint32), counts)
        columns: list[pl.Series] = [
            pl.Series("symbol", names, pl.String).gather(index),
            pl.Series("ts", ts, pl.Int64).cast(TS_DTYPE),
        ]
        columns += [
            pl.Series(name, values[:, j], pl.Float64, nan_to_null=True)
            for j, name in enumerate(PRICE_COLUMNS)
        ]
        return pl.DataFrame(columns)


def empty_bars() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"symbol": pl.String(), "ts": TS_DTYPE}
    schema |= {c: pl.Float64() for c in PRICE_COLUMNS}
    return pl.DataFrame(schema=schema)


def _epoch_us(ts: pl.Series) -> np.ndarray:
    if ts.dtype != TS_DTYPE:
        ts = ts.cast(TS_DTYPE)
    return ts.to_physical().to_numpy()


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
