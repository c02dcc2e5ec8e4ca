"""The bar schema shared by the store, the importer and the synthetic market, and its checks.

Columns (exact names, order and dtypes)::

    symbol  String               the ticker
    ts      Datetime(us, UTC)    bar start for intraday bars; session close for daily bars
    open, high, low, close  Float64  (> 0, low <= min(open, close), high >= max(open, close))
    volume  Float64              shares traded (>= 0); float so vendor data with fractional
                                 volume imports unchanged
    bid, ask  Float64            the quote at the bar's close; nullable (both or neither),
                                 0 < bid <= ask when present
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import polars as pl

from core.clock import ensure_utc
from core.errors import DataError

TS_DTYPE: Final = pl.Datetime("us", "UTC")
BAR_SCHEMA: Final[dict[str, pl.DataType]] = {
    "symbol": pl.String(),
    "ts": TS_DTYPE,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "bid": pl.Float64(),
    "ask": pl.Float64(),
}
BAR_COLUMNS: Final[tuple[str, ...]] = tuple(BAR_SCHEMA)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = BAR_COLUMNS[:7]
PRICE_COLUMNS: Final[tuple[str, ...]] = ("open", "high", "low", "close")
# Timeframe label -> bar length in microseconds (None: one bar per session).
TIMEFRAMES: Final[dict[str, int | None]] = {
    "1m": 60_000_000,
    "5m": 300_000_000,
    "15m": 900_000_000,
    "30m": 1_800_000_000,
    "1h": 3_600_000_000,
    "1d": None,
}
# Symbols become directory names; keep them to characters that need no escaping.
SYMBOL_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,19}$"


def check_timeframe(timeframe: str) -> str:
    """``timeframe`` if it is known, else ``DataError`` listing the known ones."""
    if timeframe not in TIMEFRAMES:
        raise DataError(f"unknown timeframe {timeframe!r}; expected one of {sorted(TIMEFRAMES)}")
    return timeframe


def check_schema(frame: pl.DataFrame) -> None:
    """Raise ``DataError`` unless ``frame`` has exactly the bar columns and dtypes."""
    actual = dict(frame.schema)
    missing = [c for c in BAR_COLUMNS if c not in actual]
    extra = [c for c in actual if c not in BAR_SCHEMA]
    if missing or extra:
        raise DataError(f"bar frame columns: missing {missing}, unexpected {extra}")
    wrong = [f"{c}: {actual[c]} (expected {t})" for c, t in BAR_SCHEMA.items() if actual[c] != t]
    if wrong:
        raise DataError("bar frame dtypes: " + "; ".join(wrong))


def _row_checks(timeframe: str) -> list[tuple[pl.Expr, str]]:
    """(expression true on a bad row, reason) pairs; nulls in inputs count as bad."""
    checks: list[tuple[pl.Expr, str]] = [(pl.col(c).is_null(), f"{c} is missing") for c in REQUIRED_COLUMNS]
    checks.append((~pl.col("symbol").str.contains(SYMBOL_PATTERN), "symbol is not a plain ticker"))
    for c in (*PRICE_COLUMNS, "volume", "bid", "ask"):
        checks.append((~pl.col(c).is_finite(), f"{c} is not finite"))
    for c in PRICE_COLUMNS:
        checks.append((pl.col(c) <= 0, f"{c} is not positive"))
    checks += [
        (pl.col("volume") < 0, "volume is negative"),
        (pl.col("high") < pl.max_horizontal("open", "close", "low"), "high < max(open, close, low)"),
        (pl.col("low") > pl.min_horizontal("open", "close"), "low > min(open, close)"),
        (pl.col("bid").is_null() != pl.col("ask").is_null(), "only one of bid and ask is given"),
        (pl.col("bid") <= 0, "bid is not positive"),
        (pl.col("bid") > pl.col("ask"), "bid > ask (crossed quote)"),
    ]
    step = TIMEFRAMES[check_timeframe(timeframe)]
    if step is not None:
        checks.append((pl.col("ts").dt.epoch("us") % step != 0, f"ts is not aligned to a {timeframe} bar"))
    return checks


def row_problems(frame: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """One row per bad input row: ``row`` (0-based position) and ``reason`` (all its faults).

    ``frame`` must already have the bar schema. Duplicated ``(symbol, ts)`` are reported on
    every row after the first.
    """
    checks = _row_checks(timeframe)
    reasons = [pl.when(bad.fill_null(False)).then(pl.lit(why)) for bad, why in checks]
    duplicate = pl.struct("symbol", "ts").is_duplicated() & ~pl.struct("symbol", "ts").is_first_distinct()
    reasons.append(pl.when(duplicate).then(pl.lit("duplicate (symbol, ts)")))
    return (
        frame.with_row_index("row")
        .select("row", pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("reason"))
        .filter(pl.col("reason").str.len_chars() > 0)
    )


def validate_bars(frame: pl.DataFrame, timeframe: str, max_listed: int = 10) -> None:
    """Raise ``DataError`` naming the problem unless ``frame`` is a valid set of bars."""
    check_schema(frame)
    problems = row_problems(frame, timeframe)
    if problems.height:
        listed = "; ".join(f"row {r}: {why}" for r, why in problems.head(max_listed).iter_rows())
        more = f" (and {problems.height - max_listed} more)" if problems.height > max_listed else ""
        raise DataError(f"{problems.height} invalid bar rows: {listed}{more}")


def empty_bars() -> pl.DataFrame:
    """A bar frame with no rows."""
    return pl.DataFrame(schema=BAR_SCHEMA)


def ts_bounds(
    start: date | datetime | None, end: date | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` as UTC instants. A date ``start`` means its 00:00 UTC; a date ``end``
    is inclusive (it means 00:00 UTC of the next day). Naive datetimes are refused."""

    def instant(value: date | datetime | None, next_day: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return ensure_utc(value)
        day = value + timedelta(days=1) if next_day else value
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    return instant(start, False), instant(end, True)


def filter_ts(
    frame: pl.LazyFrame, start: date | datetime | None, end: date | datetime | None
) -> pl.LazyFrame:
    """Keep the rows of ``frame`` with ``ts`` in ``[start, end)`` (see ``ts_bounds``)."""
    lo, hi = ts_bounds(start, end)
    if lo is not None:
        frame = frame.filter(pl.col("ts") >= lo)
    if hi is not None:
        frame = frame.filter(pl.col("ts") < hi)
    return frame
