"""The export: one row per trade, the documented schema, parquet/CSV round trips, training rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from core.errors import InvalidValue
from core.features import feature_names
from core.learning import EntryContext, export, export_schema, learning_rows_for_training, read, write
from core.learning.fields import EXPORT_FIELDS, FieldType
from tests.unit.test_learning_support import (
    BUY,
    INTRADAY,
    SYNB,
    Desk,
    close_equity,
    dailies,
    full_run,
    open_equity,
)

ARROW_TYPES = {
    FieldType.STR: pa.large_string(),
    FieldType.JSON: pa.large_string(),
    FieldType.INT: pa.int64(),
    FieldType.FLOAT: pa.float64(),
    FieldType.BOOL: pa.bool_(),
    FieldType.DATETIME: pa.timestamp("us", tz="UTC"),
    FieldType.DATE: pa.date32(),
}


@pytest.fixture
def frame(tmp_path: Path) -> pl.DataFrame:
    desk = Desk(tmp_path)
    full_run(desk)
    return export(desk.ledger)


def test_one_row_per_trade_joined_entry_daily_exit(frame: pl.DataFrame) -> None:
    assert frame.schema == pl.Schema(export_schema())
    assert frame.height == 2 and frame["is_complete"].to_list() == [True, True]
    spread = frame.filter(pl.col("structure") == "vertical").row(0, named=True)
    assert (spread["daily_count"], spread["daily_max_pnl"], spread["daily_min_pnl"]) == (2, 77.4, -82.6)
    assert spread["daily_last_pnl"] == 77.4 and spread["daily_last_days_held"] == 1
    assert spread["daily_min_short_strike_distance_pct"] == pytest.approx(300 / 98)
    assert spread["f_ema_20"] == 101.0 and spread["f_zscore"] is None
    assert spread["entry_ts"] == datetime(2025, 6, 2, 14, tzinfo=UTC)
    assert '"strike": 95.0' in spread["legs_json"]
    equity = frame.filter(pl.col("structure") == "equity").row(0, named=True)
    assert equity["mfe"] == 50.0 and equity["f_zscore"] == -2.1 and equity["net_delta"] is None


def test_an_open_trade_has_null_exit_columns(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    open_equity(desk)
    dailies(desk)
    (row,) = export(desk.ledger, "paper1").rows(named=True)
    assert row["is_complete"] is False and row["realized_pnl"] is None and row["daily_count"] == 2
    close_equity(desk)
    assert export(desk.ledger)["is_complete"].to_list() == [True]


def test_an_empty_ledger_exports_the_same_schema(tmp_path: Path) -> None:
    empty = export(Desk(tmp_path).ledger)
    assert empty.height == 0 and empty.schema == pl.Schema(export_schema())


@pytest.mark.parametrize("name", ["learning.parquet", "learning.csv"])
def test_round_trip_keeps_the_schema_in_polars(frame: pl.DataFrame, tmp_path: Path, name: str) -> None:
    path = write(frame, tmp_path / "out" / name)
    back = read(path)
    assert back.schema == frame.schema
    assert back.equals(frame)


def test_parquet_reloads_in_pandas_with_the_documented_types(frame: pl.DataFrame, tmp_path: Path) -> None:
    path = write(frame, tmp_path / "learning.parquet")
    table = pd.read_parquet(path, dtype_backend="pyarrow")
    assert list(table.columns) == [f.name for f in EXPORT_FIELDS]
    for spec in EXPORT_FIELDS:
        assert table[spec.name].dtype == pd.ArrowDtype(ARROW_TYPES[spec.type]), spec.name
    assert table["realized_pnl"].sum() == pytest.approx(20.0 + 74.8)


def test_write_refuses_unknown_extensions(frame: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="parquet"):
        write(frame, tmp_path / "learning.xlsx")


def test_training_rows_carry_features_and_labels(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    full_run(desk)
    desk.at(datetime(2025, 6, 5, 15, tzinfo=UTC)).quote(SYNB, "99.00", "99.02")
    desk.market_order("eq-open-2", SYNB, BUY, 5)
    desk.quote(SYNB, "99.00", "99.02")
    desk.pump(EntryContext(features=INTRADAY, feature_set="intraday"))  # still open: not a training row
    rows = learning_rows_for_training(export(desk.ledger))
    assert rows.height == 2
    intraday = rows.filter(pl.col("feature_set") == "intraday").row(0, named=True)
    assert intraday["label"] == 1 and intraday["label_return"] == pytest.approx(0.02)
    assert {n: intraday[n] for n in feature_names("intraday")}["zscore"] == -2.1
    assert intraday["ts"] == datetime(2025, 6, 2, 14, tzinfo=UTC) and intraday["source"] == "trade"
    assert intraday["label_end_ts"] == datetime(2025, 6, 4, 15, tzinfo=UTC)
    swing = rows.filter(pl.col("feature_set") == "swing").row(0, named=True)
    assert swing["label_return"] == pytest.approx(74.8 / 780) and swing["adx"] == 28.0
