"""Importing user bars: column mapping, timestamps, line-numbered rejects, all-or-nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from adapters.store import BarImportError, BarStore, import_bars
from core.errors import DataError

GOOD = """Date,Open,High,Low,Close,Volume,Notes
2025-03-10 09:30:00,10,11,9,10.5,100,a
2025-03-10 09:31:00,10.5,11,10,10.8,120,b
2025-03-10 09:32:00,10.8,11.2,10.7,11.0,90,c
"""


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_csv_with_aliases_and_local_time(tmp_path: Path) -> None:
    store = BarStore(tmp_path / "store")
    report = import_bars(_write(tmp_path, GOOD), store, "1m", symbol="ACME", tz="America/New_York")
    assert report.rows == 3 and report.symbols == ("ACME",) and report.ignored_columns == ("Notes",)
    assert report.first == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)  # EDT started 2025-03-09
    back = store.read("1m", ["ACME"])
    assert back["close"].to_list() == [10.5, 10.8, 11.0]
    assert back["bid"].null_count() == 3  # no quotes in the file


def test_import_is_idempotent(tmp_path: Path) -> None:
    store = BarStore(tmp_path / "store")
    path = _write(tmp_path, GOOD)
    import_bars(path, store, "1m", symbol="ACME")
    before = _files(tmp_path / "store")
    import_bars(path, store, "1m", symbol="ACME")
    assert _files(tmp_path / "store") == before
    assert store.read("1m").height == 3


def test_column_map_offsets_and_symbol_column(tmp_path: Path) -> None:
    text = (
        "tkr,when,o,h,l,c,v,b,a\n"
        "AAA,2025-03-10T13:30:00Z,10,11,9,10.5,100,10.4,10.6\n"
        "BBB,2025-03-10T09:30:00-04:00,20,21,19,20.5,200,20.4,20.6\n"
    )
    mapping = {
        "tkr": "symbol",
        "when": "ts",
        "o": "open",
        "h": "high",
        "l": "low",
        "c": "close",
        "v": "volume",
        "b": "bid",
        "a": "ask",
    }
    store = BarStore(tmp_path / "s")
    report = import_bars(_write(tmp_path, text), store, "1m", column_map=mapping)
    assert report.symbols == ("AAA", "BBB")
    back = store.read("1m")
    assert set(back["ts"].to_list()) == {datetime(2025, 3, 10, 13, 30, tzinfo=UTC)}
    assert back["ask"].to_list() == [10.6, 20.6]


def test_epoch_timestamps(tmp_path: Path) -> None:
    ms = int(datetime(2025, 3, 10, 13, 30, tzinfo=UTC).timestamp() * 1000)
    text = f"ts,open,high,low,close,volume\n{ms},1,1,1,1,0\n{ms + 60_000},1,1,1,1,0\n"
    store = BarStore(tmp_path / "s")
    report = import_bars(_write(tmp_path, text), store, "1m", symbol="X")
    assert report.first == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)
    assert report.last == datetime(2025, 3, 10, 13, 31, tzinfo=UTC)


def test_daily_dates_become_session_closes(tmp_path: Path) -> None:
    text = "date,open,high,low,close,volume\n2025-11-26,1,2,1,2,10\n2025-11-28,2,3,2,3,10\n"
    store = BarStore(tmp_path / "s")
    import_bars(_write(tmp_path, text), store, "1d", symbol="X")
    assert store.read("1d")["ts"].to_list() == [
        datetime(2025, 11, 26, 21, 0, tzinfo=UTC),
        datetime(2025, 11, 28, 18, 0, tzinfo=UTC),  # early close 13:00 New York
    ]


def test_bad_rows_are_listed_by_file_line_and_nothing_is_written(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close,Volume\n"  # line 1
        "2025-03-10 09:30:00,10,11,9,10.5,100\n"  # 2 ok
        "2025-03-10 09:31:00,10,abc,9,10.5,100\n"  # 3 not a number
        "\n"  # 4 blank, skipped
        "2025-03-10 09:32:00,10,9.5,9,10.5,100\n"  # 5 high below open/close
        '2025-03-10 09:33:00,10,11,9,"10.5",100\n'  # 6 ok (quoted)
        "2025-03-10 09:34:00,10,11,9,10.5\n"  # 7 short row
        "yesterday,10,11,9,10.5,100\n"  # 8 bad timestamp
        "2025-03-10 09:35:00,-1,11,-2,10.5,100\n"  # 9 negative prices
        "2025-03-10 09:33:00,10,11,9,10.5,100\n"  # 10 duplicate of line 6
    )
    store = BarStore(tmp_path / "s")
    import_bars(_write(tmp_path, GOOD, "first.csv"), store, "1m", symbol="ACME")
    before = _files(tmp_path / "s")
    with pytest.raises(BarImportError) as caught:
        import_bars(_write(tmp_path, text), store, "1m", symbol="ACME")
    problems = {p.line: p.reason for p in caught.value.problems}
    assert sorted(problems) == [3, 5, 7, 8, 9, 10]
    assert "high: not a number 'abc'" in problems[3]
    assert "missing" not in problems[3]
    assert "high < max" in problems[5]
    assert "5 fields" in problems[7] and "volume is missing" in problems[7]
    assert "cannot parse 'yesterday'" in problems[8]
    assert "open is not positive" in problems[9] and "low is not positive" in problems[9]
    assert "duplicate" in problems[10]
    assert "line 3:" in str(caught.value) and isinstance(caught.value, DataError)
    assert _files(tmp_path / "s") == before


def test_parquet_rows_are_numbered(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "symbol": ["A", "A"],
            "ts": [datetime(2025, 3, 10, 9, 30), datetime(2025, 3, 10, 9, 31)],
            "open": [1.0, 1.0],
            "high": [1.0, 0.5],
            "low": [1.0, 1.0],
            "close": [1.0, 1.0],
            "volume": [1, 1],
        }
    )
    path = tmp_path / "in.parquet"
    frame.write_parquet(path)
    with pytest.raises(BarImportError, match="row 2: high"):
        import_bars(path, BarStore(tmp_path / "s"), "1m", tz="America/New_York")
    good = frame.with_columns(high=pl.lit(1.0))
    good.write_parquet(path)
    report = import_bars(path, BarStore(tmp_path / "s"), "1m", tz="America/New_York")
    assert report.first == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("ts,open,high,low,close\n", {"symbol": "X"}, "missing columns"),
        (GOOD, {}, "missing columns"),  # no symbol column nor symbol
        (GOOD, {"symbol": "X", "tz": "Mars/Olympus"}, "time zone"),
        (GOOD, {"symbol": "X", "column_map": {"nope": "ts"}}, "not in the file"),
        (GOOD, {"symbol": "X", "column_map": {"Open": "opn"}}, "not bar columns"),
    ],
)
def test_whole_file_problems(tmp_path: Path, text: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        import_bars(_write(tmp_path, text), BarStore(tmp_path / "s"), "1m", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "s").exists()


def test_unsupported_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unsupported"):
        import_bars(_write(tmp_path, GOOD, "bars.xlsx"), BarStore(tmp_path), "1m", symbol="X")
    with pytest.raises(DataError, match="no such file"):
        import_bars(tmp_path / "missing.csv", BarStore(tmp_path), "1m", symbol="X")


def test_non_session_daily_row(tmp_path: Path) -> None:
    text = "date,open,high,low,close,volume\n2025-12-25,1,2,1,2,10\n"
    with pytest.raises(BarImportError, match=r"line 2: ts: 2025-12-25 is not an XNYS session"):
        import_bars(_write(tmp_path, text), BarStore(tmp_path / "s"), "1d", symbol="X")


PANDAS_INDEX = """,Open,High,Low,Close,Volume
2013-02-27,100,104,99,101,2000
2013-02-28,101,105,100,104,2100
"""


@pytest.mark.parametrize("column_map", [None, {"": "ts"}])
def test_unnamed_index_column_is_the_timestamp(tmp_path: Path, column_map: dict[str, str] | None) -> None:
    # The layout DataFrame.to_csv() writes by default (and backtesting.py's GOOG.csv).
    store = BarStore(tmp_path / "store")
    report = import_bars(_write(tmp_path, PANDAS_INDEX), store, "1d", column_map, symbol="GOOG")
    assert report.rows == 2 and report.ignored_columns == ()
    assert store.read("1d", ["GOOG"])["close"].to_list() == [101.0, 104.0]


def test_unnamed_column_is_ignored_when_a_timestamp_column_exists(tmp_path: Path) -> None:
    text = ",Date,Open,High,Low,Close,Volume\n0,2013-02-27,100,104,99,101,2000\n"
    report = import_bars(_write(tmp_path, text), BarStore(tmp_path / "s"), "1d", symbol="GOOG")
    assert report.rows == 1 and report.ignored_columns == ("",)
