"""``BarStore``: bars in parquet, hive-partitioned by timeframe and symbol.

Layout: ``root/bars/timeframe=1m/symbol=AAPL/data.parquet``, one file per partition, sorted
by ``ts``. The ``symbol`` column lives in the path only (hive style), so DuckDB, pyarrow and
polars all read it back. Writes are idempotent: rows are keyed by ``(symbol, ts)`` and a
written row replaces a stored row with the same key. Every touched partition is staged to a
temporary file first and only then renamed into place (``os.replace``), so a failed write
leaves the store as it was. One writer at a time per store; readers may run concurrently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from adapters.store.schema import (
    BAR_COLUMNS,
    BAR_SCHEMA,
    SYMBOL_PATTERN,
    check_timeframe,
    empty_bars,
    filter_ts,
    validate_bars,
)
from core.errors import DataError

_FILE = "data.parquet"
_PARTIAL = ".partial"


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """What one (timeframe, symbol) partition holds."""

    timeframe: str
    symbol: str
    rows: int
    first: datetime | None
    last: datetime | None
    bytes: int


class BarStore:
    """Parquet bars under ``root``; see the module docstring for layout and guarantees."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------------------
    def _timeframe_dir(self, timeframe: str) -> Path:
        return self.root / "bars" / f"timeframe={check_timeframe(timeframe)}"

    def partition_path(self, timeframe: str, symbol: str) -> Path:
        """The file holding ``symbol``'s bars of ``timeframe``."""
        if not re.match(SYMBOL_PATTERN, symbol):
            raise DataError(f"symbol {symbol!r} cannot be stored (allowed: {SYMBOL_PATTERN})")
        return self._timeframe_dir(timeframe) / f"symbol={symbol}" / _FILE

    # -- writing ---------------------------------------------------------------------------
    def write(self, frame: pl.DataFrame, timeframe: str) -> int:
        """Validate and merge ``frame`` into the store; returns the rows written.

        Raises ``DataError`` (and changes nothing) if the frame fails the schema or row checks.
        """
        validate_bars(frame, timeframe)
        staged: list[tuple[Path, Path]] = []
        try:
            for (symbol,), part in frame.partition_by("symbol", as_dict=True).items():
                target = self.partition_path(timeframe, str(symbol))
                merged = part.drop("symbol")
                if target.exists():
                    # New rows come last, so keep="last" lets them replace stored ones.
                    old = pl.read_parquet(target, hive_partitioning=False)
                    merged = pl.concat([old, merged]).unique(subset="ts", keep="last")
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{_FILE}.{os.getpid()}{_PARTIAL}")
                merged.sort("ts").write_parquet(tmp, statistics=True)
                staged.append((tmp, target))
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, target in staged:
            tmp.replace(target)  # atomic rename (os.replace)
        return frame.height

    def delete(self, timeframe: str, symbol: str) -> bool:
        """Remove one partition; returns whether it existed."""
        path = self.partition_path(timeframe, symbol)
        if not path.exists():
            return False
        path.unlink()
        return True

    # -- reading ---------------------------------------------------------------------------
    def scan(
        self,
        timeframe: str,
        symbols: Sequence[str] | None = None,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
    ) -> pl.LazyFrame:
        """A lazy frame of bars (bar schema), partitions pruned by symbol, ``ts`` in
        ``[start, end)`` (a date ``end`` is inclusive). Sorted by symbol, then ts."""
        base = self._timeframe_dir(timeframe)
        if not any(base.glob(f"symbol=*/{_FILE}")):
            return filter_ts(empty_bars().lazy(), start, end)
        lazy = pl.scan_parquet(
            base / "symbol=*" / _FILE,
            hive_partitioning=True,
            hive_schema={"timeframe": pl.String, "symbol": pl.String},
        )
        if symbols is not None:
            lazy = lazy.filter(pl.col("symbol").is_in(list(symbols)))
        lazy = filter_ts(lazy, start, end).select(BAR_COLUMNS).cast(BAR_SCHEMA)  # type: ignore[arg-type]
        return lazy.sort("symbol", "ts")

    def read(
        self,
        timeframe: str,
        symbols: Sequence[str] | None = None,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
    ) -> pl.DataFrame:
        """``scan(...)`` collected."""
        return self.scan(timeframe, symbols, start, end).collect()

    def timeframes(self) -> list[str]:
        """Timeframes that have at least one partition."""
        root = self.root / "bars"
        found = (p.name.removeprefix("timeframe=") for p in root.glob("timeframe=*"))
        return sorted(tf for tf in found if self.symbols(tf))

    def symbols(self, timeframe: str) -> list[str]:
        """Symbols stored for ``timeframe``."""
        base = self._timeframe_dir(timeframe)
        return sorted(p.parent.name.removeprefix("symbol=") for p in base.glob(f"symbol=*/{_FILE}"))

    def info(self, timeframes: Iterable[str] | None = None) -> list[PartitionInfo]:
        """Rows and first/last ``ts`` per (timeframe, symbol), read from parquet statistics."""
        result: list[PartitionInfo] = []
        for tf in timeframes if timeframes is not None else self.timeframes():
            for symbol in self.symbols(tf):
                path = self.partition_path(tf, symbol)
                stats = (
                    pl.scan_parquet(path, hive_partitioning=False)
                    .select(
                        pl.len().alias("rows"),
                        pl.col("ts").min().alias("first"),
                        pl.col("ts").max().alias("last"),
                    )
                    .collect()
                    .row(0, named=True)
                )
                result.append(
                    PartitionInfo(
                        tf, symbol, stats["rows"], stats["first"], stats["last"], path.stat().st_size
                    )
                )
        return result
