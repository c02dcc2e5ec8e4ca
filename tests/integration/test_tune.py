"""The tuner on tiny data: deterministic halving, a failing trial is recorded, an interrupted run resumes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from training.pipeline import TrainingOptions, prepare
from training.trainable import TrialData
from training.tuner import TuneInterrupted, TuneOptions, milestones, run_tuner, sample_configs, search_space

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
    options = TrainingOptions(folds=3, train_sessions=10, test_sessions=4, seed=1, synthetic=True)
    data, _ = prepare(
        "intraday_mean_reversion", ["SYNA", "SYNB"], date(2025, 1, 2), date(2025, 2, 14), options
    )
    return data


def test_sampling_and_milestones_are_fixed_by_the_seed() -> None:
    space = search_space("swing_trend_following", daily=True)
    assert sample_configs(space, 4, seed=3) == sample_configs(space, 4, seed=3)
    assert sample_configs(space, 4, seed=3) != sample_configs(space, 4, seed=4)
    assert milestones(3) == [1, 2, 3] and milestones(9) == [1, 2, 4, 8, 9] and milestones(1) == [1]


def test_failed_trial_is_recorded_not_fatal(ray_session: Any, data: TrialData, tmp_path: Path) -> None:
    configs = ({**FIXED}, {**FIXED, "inject_failure": True})
    options = TuneOptions(storage_path=tmp_path, name="fail", halving=False, configs=configs, verbose=0)
    trials = run_tuner(data, options)
    assert [t.error is None for t in trials] == [True, False]
    assert trials[1].error == "RuntimeError: injected failure"  # one line, no Ray paths
    assert trials[0].folds_run == 3 and trials[0].oos is not None and len(trials[0].oos["oos_returns"]) > 1
    assert len(trials[0].fold_models) == 3


def test_halving_is_deterministic_and_an_interrupted_run_resumes(
    ray_session: Any, data: TrialData, tmp_path: Path
) -> None:
    # 4 trials on 3 folds: rungs of 1, 2 and 3 folds keep 4, 2, 1 trials.
    options = TuneOptions(num_samples=4, storage_path=tmp_path / "a", name="r", seed=5, verbose=0)
    first = run_tuner(data, options)
    assert sorted(t.folds_run for t in first) == [1, 1, 2, 3]
    assert sum(t.oos is not None for t in first) == 1 and sum(t.stopped for t in first) == 3
    assert len({round(t.fold_sharpes[0], 9) for t in first}) > 1  # the hyper-parameters matter
    # A second run elsewhere, on one trial at a time, interrupted after a trial and resumed.
    other = replace(options, storage_path=tmp_path / "b", max_concurrent=1, stop_after_trials=1)
    with pytest.raises(TuneInterrupted):
        run_tuner(data, other)
    second = run_tuner(data, replace(other, stop_after_trials=None))
    assert second == first
