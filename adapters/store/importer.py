"""Import a user's bars from CSV or parquet into a ``BarStore``.

Columns are matched by name (case-insensitive) after ``column_map`` renames; ``timestamp``,
``datetime``, ``time`` and ``date`` are accepted for ``ts``. Timestamps may be ISO 8601 (with
an offset, or naive and then read in ``tz``) or epoch numbers (s, ms, µs or ns, told apart
by magnitude). An unnamed first column (the index pandas writes by default: an empty header,
``Unnamed: 0`` or parquet's ``__index_level_0__``) is the timestamp when no other column is;
``column_map={"": "ts"}`` names it explicitly. Daily bars are keyed by the session date as written and stored at that
session's close. Every row is checked before anything is written; on any bad row nothing is
written and ``BarImportError`` lists the rows by CSV line number (header = line 1) or, for
parquet, by 1-based row number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from adapters.store.bars import BarStore
from adapters.store.schema import (
    BAR_COLUMNS,
    BAR_SCHEMA,
    REQUIRED_COLUMNS,
    TS_DTYPE,
    check_timeframe,
    row_problems,
)
from core.calendar import MarketCalendar
from core.errors import DataError

ALIASES: dict[str, str] = {"timestamp": "ts", "datetime": "ts", "time": "ts", "date": "ts", "vol": "volume"}
_CHUNK_ROWS = 200_000
_LINE = "_line"
_FIELDS = "_fields"
_MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A rejected input row: its CSV line (or parquet row) number and every fault found."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import wrote."""

    path: Path
    timeframe: str
    rows: int
    symbols: tuple[str, ...]
    first: datetime | None
    last: datetime | None
    ignored_columns: tuple[str, ...] = field(default=())


class BarImportError(DataError):
    """An import that wrote nothing; ``problems`` lists the offending rows."""

    def __init__(self, path: Path, problems: list[RowProblem], unit: str = "line") -> None:
        self.path = path
        self.problems = tuple(problems)
        shown = "\n".join(f"  {unit} {p.line}: {p.reason}" for p in self.problems[:_MAX_LISTED])
        more = len(self.problems) - _MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{path}: {len(self.problems)} bad rows, nothing imported\n{shown}{tail}")


# -- reading ---------------------------------------------------------------------------------
def _csv_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """String frames of at most ``_CHUNK_ROWS`` records, each row tagged with its line number."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file")
        names = [h.strip() for h in header]
        if len(names) != len(set(names)) or _LINE in names or _FIELDS in names:
            raise DataError(f"{path}: header has duplicate or reserved column names: {names}")
        width = len(names)
        columns: list[list[str | None]] = [[] for _ in names]
        lines: list[int] = []
        fields: list[int] = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            lines.append(line)
            fields.append(len(record))
            for i in range(width):
                columns[i].append(record[i] if i < len(record) else None)
            if len(lines) >= _CHUNK_ROWS:
                yield _string_frame(names, columns, lines, fields)
                columns, lines, fields = [[] for _ in names], [], []
        yield _string_frame(names, columns, lines, fields)


def _string_frame(
    names: list[str], columns: list[list[str | None]], lines: list[int], fields: list[int]
) -> pl.DataFrame:
    data = {n: pl.Series(n, c, pl.String) for n, c in zip(names, columns, strict=True)}
    data[_LINE] = pl.Series(_LINE, lines, pl.Int64)
    data[_FIELDS] = pl.Series(_FIELDS, fields, pl.Int64)
    return pl.DataFrame(data)


def _read(path: Path) -> tuple[pl.DataFrame, str]:
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        chunks = list(_csv_chunks(path))
        return pl.concat(chunks, how="vertical"), "line"
    if suffix in {".parquet", ".pq"}:
        frame = pl.read_parquet(path, hive_partitioning=False)
        frame = frame.with_row_index(_LINE, offset=1).with_columns(
            pl.col(_LINE).cast(pl.Int64), pl.lit(frame.width, pl.Int64).alias(_FIELDS)
        )
        return frame, "row"
    raise DataError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")


def _rename(frame: pl.DataFrame, column_map: dict[str, str] | None) -> tuple[pl.DataFrame, tuple[str, ...]]:
    mapping = dict(column_map or {})
    unknown = [src for src in mapping if src not in frame.columns]
    if unknown:
        raise DataError(f"--map names columns not in the file: {unknown} (have {frame.columns})")
    bad_targets = [dst for dst in mapping.values() if dst.strip().lower() not in BAR_SCHEMA]
    if bad_targets:
        raise DataError(f"--map targets {bad_targets} are not bar columns {list(BAR_SCHEMA)}")
    renamed: dict[str, str] = {}
    index_col = _unnamed_index(frame, mapping)
    if index_col is not None:
        mapping[index_col] = "ts"
    for col in frame.columns:
        if col in (_LINE, _FIELDS):
            continue
        target = mapping.get(col, col).strip().lower()
        target = ALIASES.get(target, target) if col not in mapping else target
        if target in BAR_SCHEMA:
            if target in renamed.values():
                raise DataError(f"two columns map to {target!r}; use --map to pick one")
            renamed[col] = target
    ignored = tuple(c for c in frame.columns if c not in (_LINE, _FIELDS) and c not in renamed)
    return frame.select(*[pl.col(c).alias(t) for c, t in renamed.items()], _LINE, _FIELDS), ignored


def _unnamed_index(frame: pl.DataFrame, mapping: dict[str, str]) -> str | None:
    """The unnamed index column to read as ``ts``, when no other column provides a timestamp."""
    names = [c for c in frame.columns if c not in (_LINE, _FIELDS)]
    unnamed = [c for c in names if c.strip() in _INDEX_NAMES and c not in mapping]
    if not unnamed or "ts" in {v.strip().lower() for v in mapping.values()}:
        return None
    targets = {ALIASES.get(c.strip().lower(), c.strip().lower()) for c in names if c not in mapping}
    return unnamed[0] if "ts" not in targets else None


_INDEX_NAMES = frozenset({"", "Unnamed: 0", "__index_level_0__"})


# -- parsing ---------------------------------------------------------------------------------
def _parse_text_ts(text: str, zone: ZoneInfo, daily: bool, cal: MarketCalendar) -> datetime | str:
    """A UTC instant, or the reason ``text`` is not one."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return f"ts: cannot parse {text!r}"
    if daily:
        return _session_close(parsed.date(), cal)
    if len(text) <= 10:
        return f"ts: {text!r} has no time of day"
    local = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _session_close(day: date, cal: MarketCalendar) -> datetime | str:
    if not cal.is_session(day):
        return f"ts: {day} is not an XNYS session"
    return cal.session_open_close(day)[1]


def _parse_ts(column: pl.Series, tz: str, daily: bool) -> tuple[pl.Series, pl.Series]:
    """(timestamps as Datetime(us, UTC), per-row parse problem or null)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown time zone {tz!r}") from exc
    cal = MarketCalendar()
    dtype = column.dtype
    if dtype == pl.String and column.drop_nulls().str.strip_chars().str.contains(r"^\d+$").all():
        column = column.str.strip_chars().cast(pl.Int64, strict=False)
        dtype = column.dtype
    if dtype.is_integer() or dtype.is_float():
        magnitude = column.abs().max()
        size = float(magnitude) if isinstance(magnitude, int | float) else 0.0
        scale = 1e6 if size < 1e11 else 1e3 if size < 1e14 else 1.0 if size < 1e17 else 1e-3
        micros = (column.cast(pl.Float64) * scale).round().cast(pl.Int64)
        values = pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")
        if daily:
            column = values.dt.date().cast(pl.String)
            dtype = pl.String()
        else:
            return values, pl.Series([None] * len(column), dtype=pl.String)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            column = column.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        column = column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if not daily:
            return column, pl.Series([None] * len(column), dtype=pl.String)
        column = column.dt.convert_time_zone("America/New_York").dt.date()
        dtype = pl.Date()
    if dtype == pl.Date:
        column = column.cast(pl.String)
    if column.dtype != pl.String:
        raise DataError(f"ts column has unsupported type {column.dtype}")
    parsed: dict[str, datetime | str] = {
        text: _parse_text_ts(text, zone, daily, cal) for text in column.drop_nulls().unique().to_list()
    }
    results = [parsed[t] if t is not None else None for t in column.to_list()]
    stamps = [v if isinstance(v, datetime) else None for v in results]
    problems = [v if isinstance(v, str) else None for v in results]
    return pl.Series("ts", stamps, TS_DTYPE), pl.Series("_ts_problem", problems, pl.String)


def _to_bars(frame: pl.DataFrame, symbol: str | None, tz: str, daily: bool) -> tuple[pl.DataFrame, pl.Series]:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns and not (c == "symbol" and symbol)]
    if missing:
        raise DataError(f"missing columns {missing} (have {frame.columns}); use --map src=dst")
    if symbol and "symbol" in frame.columns:
        raise DataError("the file has a symbol column; do not also pass a symbol")
    problems: list[pl.Expr] = []
    exprs: list[pl.Expr] = []
    for col in ("open", "high", "low", "close", "volume", "bid", "ask"):
        if col not in frame.columns:
            exprs.append(pl.lit(None, pl.Float64).alias(col))
            continue
        source = pl.col(col)
        if frame.schema[col] == pl.String:
            source = source.str.strip_chars()
            value = source.cast(pl.Float64, strict=False)
            bad = source.is_not_null() & (source != "") & value.is_null()
            problems.append(pl.when(bad).then(pl.format(f"{col}: not a number '{{}}'", source)))
            exprs.append(value.alias(col))
        else:
            exprs.append(source.cast(pl.Float64, strict=False).alias(col))
    sym = pl.lit(symbol, pl.String) if symbol else pl.col("symbol").cast(pl.String).str.strip_chars()
    ts, ts_problem = _parse_ts(frame.get_column("ts"), tz, daily)
    bars = frame.with_columns(*exprs, sym.alias("symbol"), ts.alias("ts"))
    reasons = frame.select(
        pl.concat_str([pl.lit(ts_problem), *problems], separator="; ", ignore_nulls=True).alias("reason")
    ).get_column("reason")
    return bars.select(*BAR_COLUMNS, _LINE).cast(BAR_SCHEMA), reasons  # type: ignore[arg-type]


def import_bars(
    path: Path | str,
    store: BarStore,
    timeframe: str,
    column_map: dict[str, str] | None = None,
    symbol: str | None = None,
    tz: str = "UTC",
) -> ImportReport:
    """Validate every row of ``path`` and then write them all to ``store``, or nothing.

    Raises ``BarImportError`` listing bad rows by line number, or ``DataError`` for a problem
    with the file as a whole (unknown type, missing columns).
    """
    path = Path(path)
    check_timeframe(timeframe)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw, unit = _read(path)
    width = raw.width - 2
    renamed, ignored = _rename(raw, column_map)
    bars, parse_reasons = _to_bars(renamed, symbol, tz, daily=timeframe == "1d")
    reasons: dict[int, list[str]] = {}
    for i, n in enumerate(renamed.get_column(_FIELDS).to_list()):
        if n != width:
            reasons[i] = [f"{n} fields, the header has {width}"]
    for i, why in enumerate(parse_reasons.to_list()):
        if why:
            reasons.setdefault(i, []).append(why)
    checked = row_problems(bars.drop(_LINE), timeframe)
    for i, why in checked.iter_rows():
        known = " ".join(reasons.get(i, []))
        # "open is missing" adds nothing after "open: not a number 'x'".
        parts = [
            p for p in why.split("; ") if not (p.endswith(" is missing") and f"{p.split()[0]}:" in known)
        ]
        if parts:
            reasons.setdefault(i, []).append("; ".join(parts))
    if reasons:
        lines = bars.get_column(_LINE).to_list()
        found = [RowProblem(lines[i], "; ".join(r)) for i, r in sorted(reasons.items())]
        raise BarImportError(path, found, unit)
    frame = bars.drop(_LINE)
    store.write(frame, timeframe)
    ts = frame.get_column("ts")
    return ImportReport(
        path=path,
        timeframe=timeframe,
        rows=frame.height,
        symbols=tuple(sorted(frame.get_column("symbol").unique().to_list())),
        first=ts.min() if frame.height else None,  # type: ignore[arg-type]
        last=ts.max() if frame.height else None,  # type: ignore[arg-type]
        ignored_columns=ignored,
    )
