"""The tuner on tiny data: a failing trial does not fail the run; an interrupted run resumes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ray import tune

from training.pipeline import TrainingOptions, prepare
from training.trainable import TrialData
from training.tuner import TuneOptions, resume, run_tuner

FIXED = {
    "num_leaves": 7,
    "learning_rate": 0.1,
    "min_data_in_leaf": 100,
    "feature_fraction": 1.0,
    "n_estimators": 30,
    "score_threshold": 0.03,
}


@pytest.fixture(scope="module")
def data() -> TrialData:
    options = TrainingOptions(folds=2, train_sessions=10, test_sessions=4, seed=1)
    return prepare("intraday_mean_reversion", ["SYNA", "SYNB"], date(2025, 1, 2), date(2025, 2, 14), options)


def test_failed_trial_is_recorded_not_fatal(ray_session: Any, data: TrialData, tmp_path: Path) -> None:
    space = {**FIXED, "inject_failure": tune.grid_search([False, True])}
    options = TuneOptions(
        num_samples=1, storage_path=tmp_path, name="fail", asha=False, param_space=space, verbose=0
    )
    grid = run_tuner(data, options)
    assert len(grid) == 2
    assert grid.num_errors == 1
    ok = [r for r in grid if r.error is None]
    assert len(ok) == 1 and ok[0].metrics["training_iteration"] == 2
    assert "oos_sharpe" in ok[0].metrics and len(ok[0].metrics["oos_returns"]) > 1


def test_interrupted_run_resumes(ray_session: Any, data: TrialData, tmp_path: Path) -> None:
    options = TuneOptions(
        num_samples=4, storage_path=tmp_path, name="resume", asha=False, stop_after_trials=2, verbose=0
    )
    first = run_tuner(data, options)
    finished = {r.metrics["trial_id"] for r in first if "oos_sharpe" in r.metrics}
    assert 2 <= len(finished) < 4
    assert tune.Tuner.can_restore(str(options.path))
    second = resume(options.path, data)
    assert len(second) == 4 and second.num_errors == 0
    done = {r.metrics["trial_id"]: r.metrics for r in second}
    assert all("oos_sharpe" in m and m["training_iteration"] == 2 for m in done.values())
    assert finished < set(done)
