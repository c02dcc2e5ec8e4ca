"""Walk-forward evaluation without Ray: determinism, OOS-only trades, lineage helpers."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from training.pipeline import TrainingOptions, _metrics, code_version, prepare
from training.trainable import TrialData, make_configured_strategy, rules_only, walk_forward

CONFIG = {"num_leaves": 7, "n_estimators": 30, "min_data_in_leaf": 100, "score_threshold": 0.03}


@pytest.fixture(scope="module")
def data() -> TrialData:
    options = TrainingOptions(folds=2, train_sessions=10, test_sessions=4, seed=1, synthetic=True)
    data, _ = prepare(
        "intraday_mean_reversion", ["SYNA", "SYNB"], date(2025, 1, 2), date(2025, 2, 14), options
    )
    return data


def test_walk_forward_is_deterministic_and_out_of_sample(data: TrialData) -> None:
    reports: list[tuple[int, dict[str, object]]] = []
    a = walk_forward(data, CONFIG, on_fold=lambda i, r: reports.append((i, r)))
    b = walk_forward(data, CONFIG)
    assert a.pooled.trades.equals(b.pooled.trades)
    assert [i for i, _ in reports] == [0, 1]
    assert "oos_sharpe" not in reports[0][1] and "oos_sharpe" in reports[1][1]
    first_test = data.folds[0].test_start
    entry_days = a.pooled.trades["entry_ts"].dt.convert_time_zone("America/New_York").dt.date()
    assert (entry_days >= first_test).all() and a.pooled.metrics.n_trades > 0
    assert len(a.returns) == sum(f.metrics.n_periods for f in a.folds) == 2 * 4  # one per test session


def test_rules_only_baseline_and_configured_strategy(data: TrialData) -> None:
    assert rules_only(data).metrics.n_trades > 0
    strategy = make_configured_strategy("intraday_mean_reversion", {"score_threshold": 0.04, "num_leaves": 7})
    assert strategy.score_threshold == 0.04  # type: ignore[attr-defined]


def test_metrics_survive_the_report_round_trip(data: TrialData) -> None:
    m = rules_only(data).metrics
    back = _metrics(m.to_dict())
    assert back.sharpe == pytest.approx(m.sharpe) and back.n_trades == m.n_trades
    assert back.max_drawdown_duration.total_seconds() == pytest.approx(
        m.max_drawdown_duration.total_seconds()
    )
    assert math.isfinite(back.win_rate)


def test_code_version_is_stable() -> None:
    assert code_version() == code_version()
    assert "+src." in code_version()


def test_dataset_has_no_label_across_sessions(data: TrialData) -> None:
    ds = data.dataset.filter(pl.col("label").is_not_null())
    end_day = ds["label_end_ts"].dt.convert_time_zone("America/New_York").dt.date()
    assert (end_day == ds["session"]).all()
