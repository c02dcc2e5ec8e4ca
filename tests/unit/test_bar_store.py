"""BarStore: schema checks, partitioning, idempotent merges, atomicity, scans and info."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BAR_SCHEMA, BarStore
from core.errors import DataError


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    cfg = SyntheticMarketConfig(
        seed=1, symbols=("AAA", "BBB", "CCC"), start=date(2025, 6, 2), end=date(2025, 6, 6)
    )
    return generate_bars(cfg)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_round_trip(tmp_path: Path, bars: pl.DataFrame) -> None:
    store = BarStore(tmp_path)
    assert store.write(bars, "1m") == bars.height
    assert (tmp_path / "bars" / "timeframe=1m" / "symbol=AAA" / "data.parquet").is_file()
    back = store.read("1m")
    assert dict(back.schema) == BAR_SCHEMA
    assert back.equals(bars.sort("symbol", "ts"))
    assert store.symbols("1m") == ["AAA", "BBB", "CCC"]
    assert store.timeframes() == ["1m"]
    # the files are plain hive-partitioned parquet that polars reads without the store
    raw = pl.read_parquet(tmp_path / "bars" / "timeframe=1m", hive_partitioning=True)
    assert raw.height == bars.height and "symbol" in raw.columns


def test_writing_twice_keeps_one_copy(tmp_path: Path, bars: pl.DataFrame) -> None:
    store = BarStore(tmp_path)
    store.write(bars, "1m")
    before = _files(tmp_path)
    store.write(bars, "1m")
    assert _files(tmp_path) == before
    assert store.read("1m").height == bars.height


def test_new_rows_replace_old_and_append(tmp_path: Path, bars: pl.DataFrame) -> None:
    store = BarStore(tmp_path)
    first_days = bars.filter(pl.col("ts") < datetime(2025, 6, 4, tzinfo=UTC))
    store.write(first_days, "1m")
    changed = bars.with_columns(pl.col("volume") + 1.0)  # overlaps every stored row
    store.write(changed, "1m")
    back = store.read("1m")
    assert back.height == bars.height
    assert back.equals(changed.sort("symbol", "ts"))


def test_scan_filters_symbols_and_time(tmp_path: Path, bars: pl.DataFrame) -> None:
    store = BarStore(tmp_path)
    store.write(bars, "1m")
    lazy = store.scan("1m", symbols=["BBB"], start=date(2025, 6, 3), end=date(2025, 6, 4))
    plan = lazy.explain()
    assert "symbol=BBB" in plan and "symbol=AAA" not in plan  # partition pruning
    got = lazy.collect()
    assert got["symbol"].unique().to_list() == ["BBB"] and got.height == 2 * 390
    half_open = store.read(
        "1m", ["AAA"], datetime(2025, 6, 2, 13, 30, tzinfo=UTC), datetime(2025, 6, 2, 13, 35, tzinfo=UTC)
    )
    assert half_open.height == 5
    assert store.read("1d").is_empty() and dict(store.read("1d").schema) == BAR_SCHEMA


def test_info(tmp_path: Path, bars: pl.DataFrame) -> None:
    store = BarStore(tmp_path)
    store.write(bars, "1m")
    store.write(daily_bars(bars), "1d")
    info = {(i.timeframe, i.symbol): i for i in store.info()}
    assert set(info) == {(tf, s) for tf in ("1d", "1m") for s in ("AAA", "BBB", "CCC")}
    aaa = info[("1m", "AAA")]
    assert aaa.rows == 5 * 390
    assert aaa.first == datetime(2025, 6, 2, 13, 30, tzinfo=UTC)
    assert aaa.last == datetime(2025, 6, 6, 19, 59, tzinfo=UTC)
    assert info[("1d", "BBB")].last == datetime(2025, 6, 6, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop("bid"), "missing"),
        (lambda f: f.with_columns(pl.col("volume").cast(pl.Int64)), "dtypes"),
        (lambda f: f.with_columns(pl.col("ts").dt.replace_time_zone(None)), "dtypes"),
        (lambda f: f.with_columns(pl.col("ts").dt.convert_time_zone("America/New_York")), "dtypes"),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("close")).alias("close")
            ),
            "row 7: close is missing",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 3).then(0.5).otherwise(pl.col("high")).alias("high")
            ),
            "row 3: high < max",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 2)
                .then(pl.col("ask") + 1)
                .otherwise(pl.col("bid"))
                .alias("bid")
            ),
            "crossed",
        ),
        (lambda f: pl.concat([f, f.head(1)]), "duplicate"),
        (lambda f: f.with_columns(pl.col("ts").dt.offset_by("30s")), "aligned"),
        (lambda f: f.with_columns(pl.lit("A/B").alias("symbol")), "plain ticker"),
    ],
)
def test_write_rejects_bad_frames_and_changes_nothing(
    tmp_path: Path, bars: pl.DataFrame, mutate, message: str
) -> None:
    store = BarStore(tmp_path)
    store.write(bars.head(10), "1m")
    before = _files(tmp_path)
    with pytest.raises(DataError, match=message):
        store.write(mutate(bars), "1m")
    assert _files(tmp_path) == before


def test_failure_while_staging_leaves_store_unchanged(
    tmp_path: Path, bars: pl.DataFrame, monkeypatch
) -> None:
    store = BarStore(tmp_path)
    store.write(bars.head(5), "1m")
    before = _files(tmp_path)
    calls = {"n": 0}
    real = pl.DataFrame.write_parquet

    def flaky(self: pl.DataFrame, file, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, file, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", flaky)
    with pytest.raises(OSError, match="disk full"):
        store.write(bars, "1m")
    assert _files(tmp_path) == before


def test_unknown_timeframe(tmp_path: Path, bars: pl.DataFrame) -> None:
    with pytest.raises(DataError, match="timeframe"):
        BarStore(tmp_path).write(bars, "7m")
