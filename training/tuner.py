"""The tuner: ASHA over walk-forward trials, sized to pay off on a small machine.

Search space (``SEARCH_SPACE``; LightGBM's plus the strategy's entry threshold):

=================  ==============================  ============================================
key                distribution                    why
=================  ==============================  ============================================
num_leaves         choice 7, 15, 31                tree capacity; the features are few
learning_rate      log-uniform 0.03 .. 0.2
min_data_in_leaf   choice 100, 200, 400            minute rows are noisy: keep leaves large
feature_fraction   uniform 0.6 .. 1.0
n_estimators       choice 50, 100, 150
score_threshold    uniform 0.01 .. 0.06            entry needs ``|score - 0.5| >= threshold``
=================  ==============================  ============================================

Efficiency on 2 cores: one CPU per trial with LightGBM on one thread (two trials at once,
no oversubscription), ``reuse_actors``, the data placed once in the object store
(``tune.with_parameters``), no checkpoints, no auto-loggers, a terse CLI reporter.
Failed trials are recorded, not fatal (``fail_fast=False``). ``resume`` continues an
interrupted run from its directory.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.trainable import TrialData, trainable

__all__ = ["SEARCH_SPACE", "TuneOptions", "resume", "run_tuner", "search_space", "tune_environment"]

METRIC = "mean_sharpe"


def tune_environment() -> None:
    """Quiet, cheap Tune defaults (set before the first run in a process)."""
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_RESULT_BUFFER_LENGTH", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Without per-trial result files (no auto-loggers) the result grid warns about each trial.
    logging.getLogger("ray.tune.analysis.experiment_analysis").addFilter(_drop_fetch_warning)


def _drop_fetch_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Failed to fetch metrics")


def search_space() -> dict[str, Any]:
    """The default ``param_space`` (module docstring)."""
    from ray import tune

    return {
        "num_leaves": tune.choice([7, 15, 31]),
        "learning_rate": tune.loguniform(0.03, 0.2),
        "min_data_in_leaf": tune.choice([100, 200, 400]),
        "feature_fraction": tune.uniform(0.6, 1.0),
        "n_estimators": tune.choice([50, 100, 150]),
        "score_threshold": tune.uniform(0.01, 0.06),
    }


SEARCH_SPACE = (
    "num_leaves",
    "learning_rate",
    "min_data_in_leaf",
    "feature_fraction",
    "n_estimators",
    "score_threshold",
)


@dataclass(frozen=True)
class TuneOptions:
    """How one tuning run goes; ``param_space`` replaces the default space when given.

    ``stop_after_trials`` interrupts the run like Ctrl+C once that many trials ended (then
    ``resume``); it needs the tuner on the main thread.
    """

    num_samples: int = 8
    storage_path: Path = Path("var/tune")
    name: str = "raydesk"
    seed: int = 7
    max_concurrent: int = 2
    asha: bool = True
    verbose: int = 1
    param_space: Mapping[str, Any] | None = None
    stop_after_trials: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.storage_path).resolve() / self.name


def _trainable(data: TrialData) -> Any:
    from ray import tune

    return tune.with_resources(tune.with_parameters(trainable, data=data), {"cpu": 1})


def _interrupter(n: int | None) -> list[Any]:
    """A callback that interrupts the run (SIGUSR1, Tune's Ctrl+C) once exactly ``n`` trials ended.

    "Exactly": the callback is pickled with the run, and a resumed run (already past ``n``)
    must not interrupt itself again.
    """
    if n is None:
        return []
    from ray.tune import Callback

    class InterruptAfter(Callback):
        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            if sum(t.status == "TERMINATED" for t in trials) == n:
                os.kill(os.getpid(), signal.SIGUSR1)

    return [InterruptAfter()]


def run_tuner(data: TrialData, options: TuneOptions) -> Any:
    """Tune ``data.strategy`` over its walk-forward folds; returns Ray's ``ResultGrid``."""
    tune_environment()
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    space = dict(options.param_space) if options.param_space is not None else search_space()
    space.update(options.extra)
    scheduler = (
        ASHAScheduler(
            time_attr="training_iteration", max_t=len(data.folds), grace_period=1, reduction_factor=2
        )
        if options.asha
        else None
    )
    tuner = tune.Tuner(
        _trainable(data),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            num_samples=options.num_samples,
            scheduler=scheduler,
            search_alg=BasicVariantGenerator(
                max_concurrent=options.max_concurrent, random_state=options.seed
            ),
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=options.name,
            storage_path=str(Path(options.storage_path).resolve()),
            callbacks=_interrupter(options.stop_after_trials),
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False, num_to_keep=1),
            progress_reporter=_reporter(),
            verbose=options.verbose,
            log_to_file=False,
        ),
    )
    return tuner.fit()


def resume(path: Path, data: TrialData) -> Any:
    """Continue an interrupted run stored at ``path`` (unfinished trials rerun, errored ones stay)."""
    tune_environment()
    from ray import tune

    tuner = tune.Tuner.restore(str(path), trainable=_trainable(data), resume_unfinished=True)
    return tuner.fit()


def _reporter() -> Any:
    from ray import tune

    return tune.CLIReporter(
        parameter_columns={"num_leaves": "leaves", "learning_rate": "lr", "score_threshold": "thr"},
        metric_columns={"training_iteration": "folds", METRIC: "sharpe", "oos_sharpe": "oos"},
        max_report_frequency=30,
        max_progress_rows=10,
        print_intermediate_tables=False,
    )
