"""Earnings dates in the store: imported from a CSV, read back as an ``EarningsCalendar``.

Layout: ``root/earnings/earnings.parquet`` with ``symbol`` (upper-case) and ``date`` (the report
date). An import merges with what is stored (a re-import is a no-op) and is written whole
(``adapters.files.atomic_write``), so a failed import changes nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from adapters.files import atomic_write
from core.earnings import EarningsCalendar
from core.errors import DataError

__all__ = ["EarningsImport", "import_earnings", "load_earnings"]

_FILE = Path("earnings") / "earnings.parquet"
_SCHEMA = {"symbol": pl.String, "date": pl.Date}


@dataclass(frozen=True, slots=True)
class EarningsImport:
    rows: int
    symbols: tuple[str, ...]
    stored: int


def _column(frame: pl.DataFrame, wanted: str, given: str | None) -> str:
    if given is not None:
        if given not in frame.columns:
            raise DataError(f"earnings file: no column {given!r} (have {frame.columns})")
        return given
    for name in frame.columns:
        if name.strip().lower() == wanted:
            return name
    raise DataError(
        f"earnings file: no {wanted!r} column (have {frame.columns}); name it with --{wanted}-column"
    )


def import_earnings(
    path: Path, root: Path, symbol_column: str | None = None, date_column: str | None = None
) -> EarningsImport:
    """Merge the report dates of the CSV at ``path`` into the store at ``root``.

    Every row is checked first: a row with an empty or lower-case symbol or a date that is not
    ``YYYY-MM-DD`` fails the import with its line number, and nothing is written.
    """
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"earnings file {path}: {exc}") from None
    sym, day = _column(raw, "symbol", symbol_column), _column(raw, "date", date_column)
    frame = raw.select(
        pl.col(sym).str.strip_chars().alias("symbol"),
        pl.col(day).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("date"),
        (pl.int_range(pl.len()) + 2).alias("line"),
    )
    bad = frame.filter(
        pl.col("date").is_null()
        | pl.col("symbol").is_null()
        | (pl.col("symbol") != pl.col("symbol").str.to_uppercase())
        | (pl.col("symbol") == "")
    )
    if bad.height:
        lines = ", ".join(str(n) for n in bad["line"].head(10).to_list())
        raise DataError(
            f"earnings file {path}: {bad.height} bad row(s) (symbol upper-case, date YYYY-MM-DD): line(s) {lines}"
        )
    rows = frame.select("symbol", "date")
    target = root / _FILE
    stored = pl.read_parquet(target) if target.exists() else pl.DataFrame(schema=_SCHEMA)
    merged = pl.concat([stored, rows]).unique().sort(["symbol", "date"])
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    merged.write_parquet(buffer)
    atomic_write(target, buffer.getvalue())
    return EarningsImport(rows.height, tuple(sorted(set(rows["symbol"].to_list()))), merged.height)


def load_earnings(root: Path) -> EarningsCalendar:
    """The stored report dates (an empty calendar when none were imported)."""
    target = root / _FILE
    if not target.exists():
        return EarningsCalendar()
    frame = pl.read_parquet(target)
    return EarningsCalendar.of(zip(frame["symbol"].to_list(), frame["date"].to_list(), strict=True))
