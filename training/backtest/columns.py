"""The sorted signal frame as numpy columns, and the signal rows that become orders."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import polars as pl

from training.backtest.state import F64, I64

Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Columns of a frame sorted by ``(symbol, ts)`` (see ``is_sorted``).

    ``symbols`` has one entry per run of equal symbols (on a sorted frame: each symbol once,
    in order), ``code`` numbers the runs; ``starts`` / ``ends`` bound each run's rows; ``end``
    is, per row, one past the last row of that row's run.
    """

    symbols: list[str]
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    stop: F64
    target: F64
    entry_long: Flags
    exit_long: Flags
    entry_short: Flags
    exit_short: Flags
    starts: I64
    ends: I64
    code: I64
    end: I64

    @classmethod
    def of(cls, frame: pl.DataFrame) -> BarColumns:
        runs = frame["symbol"].rle().struct
        lengths = runs.field("len").to_numpy().astype(np.int64)
        ends = np.cumsum(lengths)
        code = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)

        def floats(name: str) -> F64:
            # A float column's nulls come out as NaN.
            return frame[name].cast(pl.Float64).to_numpy()

        return cls(
            symbols=runs.field("value").to_list(),
            ts=frame["ts"].dt.epoch("us").to_numpy(),
            open=floats("open"),
            high=floats("high"),
            low=floats("low"),
            close=floats("close"),
            stop=floats("stop"),
            target=floats("target"),
            entry_long=frame["entry_long"].to_numpy(),
            exit_long=frame["exit_long"].to_numpy(),
            entry_short=frame["entry_short"].to_numpy(),
            exit_short=frame["exit_short"].to_numpy(),
            starts=ends - lengths,
            ends=ends,
            code=code,
            end=ends[code],
        )

    @property
    def is_sorted(self) -> bool:
        """Whether each symbol's rows are contiguous, the symbols in order and each symbol's
        timestamps strictly increasing: the order ``sort("symbol", "ts")`` gives."""
        symbols = self.symbols
        if any(a >= b for a, b in pairwise(symbols)):
            return False
        ts, code = self.ts, self.code
        return bool(np.all((ts[1:] > ts[:-1]) | (code[1:] != code[:-1])))

    @property
    def has_protective(self) -> bool:
        return not (np.isnan(self.stop).all() and np.isnan(self.target).all())


@dataclass(frozen=True, slots=True)
class SignalOrders:
    """Signal rows that become orders (each fills at the next row's open, so a signal on a
    symbol's last row never does). An entry bar that also exits the same side enters nothing;
    an entry on both sides goes long.
    """

    exits: I64
    entries: I64
    entry_is_long: Flags

    @classmethod
    def of(cls, cols: BarColumns) -> SignalOrders:
        n = cols.ts.size
        has_next = np.append(np.arange(1, n) < cols.end[:-1], False)
        long_in = cols.entry_long & ~cols.exit_long
        short_in = cols.entry_short & ~cols.exit_short & ~long_in
        entries = np.flatnonzero((long_in | short_in) & has_next)
        return cls(
            exits=np.flatnonzero((cols.exit_long | cols.exit_short) & has_next),
            entries=entries,
            entry_is_long=long_in[entries],
        )
