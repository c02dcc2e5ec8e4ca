"""Dataset labels and the LightGBM score model: leak-free labels, determinism, round trip."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from core.features import INTRADAY_FEATURES, feature_set_hash
from training.dataset import LabelConfig, build_dataset
from training.model import ModelParams, ScoreModel


@pytest.fixture(scope="module")
def dataset() -> pl.DataFrame:
    config = SyntheticMarketConfig(
        seed=2, symbols=("SYNA", "SYNB"), start=date(2025, 3, 3), end=date(2025, 3, 14)
    )
    return build_dataset(generate_bars(config), "intraday_mean_reversion")


def test_direction_labels(dataset: pl.DataFrame) -> None:
    assert {"label", "label_return", "label_end_ts", "ts", "symbol", "session", *INTRADAY_FEATURES} <= set(
        dataset.columns
    )
    known = dataset.filter(pl.col("label").is_not_null())
    assert ((known["label_return"] > 0).cast(pl.Int8) == known["label"]).all()
    assert (known["label_end_ts"] > known["ts"]).all()
    same_session = (
        known["label_end_ts"].dt.convert_time_zone("America/New_York").dt.date() == known["session"]
    )
    assert same_session.all()
    # The last 5 bars of every session have no label: they would read the next session.
    assert dataset.group_by("symbol", "session").agg(pl.col("label").tail(5).is_null().all())["label"].all()


def test_triple_barrier_labels(dataset: pl.DataFrame) -> None:
    bars = dataset.select("symbol", "ts", "open", "high", "low", "close", "volume", "bid", "ask")
    tb = build_dataset(bars, "intraday_mean_reversion", LabelConfig(kind="triple_barrier", horizon=10))
    assert set(tb["label"].drop_nulls().unique().to_list()) <= {0, 1}


def test_training_is_deterministic_and_round_trips(dataset: pl.DataFrame) -> None:
    params = ModelParams(n_estimators=20, num_threads=1)
    a = ScoreModel.train(dataset, INTRADAY_FEATURES, "intraday", params)
    b = ScoreModel.train(dataset, INTRADAY_FEATURES, "intraday", params)
    assert a.to_bytes() == b.to_bytes()
    restored = ScoreModel.from_bytes(a.to_bytes())
    assert np.array_equal(restored.predict(dataset), a.predict(dataset))
    assert restored.feature_hash == feature_set_hash(INTRADAY_FEATURES, "intraday")
    scores = a.predict(dataset)
    assert ((scores > 0) & (scores < 1)).all()


def test_params_from_tune_config() -> None:
    p = ModelParams.from_config(
        {"num_leaves": 31.0, "learning_rate": 0.1, "score_threshold": 0.03}, num_threads=2
    )
    assert p.num_leaves == 31 and p.learning_rate == 0.1 and p.num_threads == 2
