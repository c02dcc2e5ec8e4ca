"""Drift: PSI of live features and the live hit rate against the training window, on synthetic
minute bars with planted regime changes (the mean-reversion edge switched off; a volatility
jump) and a control (the same market, later)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from training.dataset import build_dataset, feature_columns
from training.drift import DriftReport, check_drift, hit_rate, psi
from training.model import ModelParams, ScoreModel
from training.registry import ModelVersion

IMR = "intraday_mean_reversion"
SYMBOLS = ("SYNA",)  # SYNB turns volatile in the live window even without vol regimes
FIRST, LAST = date(2025, 1, 2), date(2025, 2, 28)
HOLD_OUT = datetime(2025, 1, 27, tzinfo=UTC)  # train before; the hold-out gives the OOS hit rate
LIVE = datetime(2025, 2, 10, tzinfo=UTC)  # live from here


def test_psi_reads_as_documented() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, rng.normal(size=5000)) < 0.02
    assert psi(ref, rng.normal(loc=1.0, size=5000)) > 0.25
    assert math.isnan(psi(ref[:3], ref))
    assert hit_rate([0.7, 0.2, np.nan, 0.6], [1, 0, 1, 0]) == (2 / 3, 3)


def test_hit_rate_drop_is_judged_in_standard_errors() -> None:
    base = DriftReport(IMR, "v0001", {"atr": 0.05}, 0.56, 0.55, 2000, 0.25, 2.0)
    assert not base.drifted  # 1 point below 0.56 is 0.9 standard errors over 2000 rows
    dropped = replace(base, hit_rate_live=0.52)  # 3.6 standard errors
    assert dropped.hit_rate_dropped and dropped.drifted and "DRIFT" in dropped.line()
    assert replace(base, psi={"atr": 0.3}).drifted_features == ("atr",)


def _bars(edge: bool) -> pl.DataFrame:
    return generate_bars(
        SyntheticMarketConfig(seed=4, symbols=SYMBOLS, start=FIRST, end=LAST, edge_enabled=edge)
    )


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    return _bars(edge=True)


@pytest.fixture(scope="module")
def model(bars: pl.DataFrame) -> tuple[ModelVersion, bytes]:
    dataset = build_dataset(bars, IMR)
    train = dataset.filter(pl.col("ts") < HOLD_OUT)
    held_out = dataset.filter(pl.col("ts").is_between(HOLD_OUT, LIVE, closed="left"))
    scorer = ScoreModel.train(train, feature_columns(IMR), "intraday", ModelParams(n_estimators=50))
    oos_hit_rate, _ = hit_rate(scorer.predict(held_out), held_out["label"].cast(pl.Float64).to_numpy())
    version = ModelVersion(
        IMR, "v0001", Path("model.bin"), "", {}, scorer.features, scorer.feature_hash,
        (train["ts"].min(), train["ts"].max()),  # type: ignore[arg-type]
        {"label": {"kind": "direction", "horizon": 5, "up": 2.0, "down": 2.0},
         "validation": {"oos_hit_rate": oos_hit_rate}}, "test", HOLD_OUT,
    )  # fmt: skip
    return version, scorer.to_bytes()


def _scaled(frame: pl.DataFrame, factor: float) -> pl.DataFrame:
    """Every bar's high-low range and its move from the open scaled by ``factor`` (a volatility jump)."""
    o = pl.col("open")
    return frame.with_columns(*((o + (pl.col(c) - o) * factor).alias(c) for c in ("high", "low", "close")))


def test_regime_changes_are_flagged_and_the_control_is_not(
    bars: pl.DataFrame, model: tuple[ModelVersion, bytes]
) -> None:
    version, blob = model
    reference = bars.filter(pl.col("ts") < HOLD_OUT)
    control = check_drift(version, blob, reference, bars, live_from=LIVE)
    assert not control.hit_rate_dropped, control.line()
    # Standardised features stay put (volatility and the tick-quantised spread wander a little).
    assert max(control.psi[f] for f in ("zscore", "rsi", "volume_zscore")) < 0.1, control.psi

    no_edge = check_drift(version, blob, reference, _bars(edge=False), live_from=LIVE)
    assert no_edge.hit_rate_live < control.hit_rate_live, no_edge.line()

    wild = check_drift(version, blob, reference, _scaled(bars, 3.0), live_from=LIVE)
    assert {"atr", "range_pct"} <= set(wild.drifted_features), wild.line()
    assert wild.psi["range_pct"] > 5 * control.psi["range_pct"] and wild.psi["atr"] > 3 * control.psi["atr"]
    print(control.line(), no_edge.line(), wild.line(), sep="\n")
