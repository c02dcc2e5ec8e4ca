"""The tuner: deterministic successive halving over walk-forward trials on Ray Tune.

Reproducibility is the design goal: the same seed, data and options give the same trials, the
same stopped trials and the same metrics on 1 or 2 CPUs. Hence:

* configurations are sampled here, with ``numpy.random.default_rng(seed)``, before Tune runs
  (``sample_configs``); every one carries the LightGBM ``seed`` and trains on one thread;
* the scheduler is **synchronous successive halving in rungs**: rung ``k`` runs the surviving
  trials over the first ``m_k`` folds (milestones 1, 2, 4, ... then every fold) as one Tune run
  (a grid over trial indices, no scheduler, no search algorithm). A rung's decision is taken
  only when all its trials ended, on (fold-mean Sharpe desc, trial index asc): arrival order,
  which depends on the CPU count and the OS, decides nothing (ASHA's asynchronous rungs did);
* a trial of a later rung re-runs its earlier folds (deterministic, so their numbers repeat)
  instead of pausing and checkpointing: simpler and exact, at the cost of some compute;
* finished (trial, folds) results are cached as JSON under the run directory, keyed by a
  fingerprint of the data, the folds and the configurations: an interrupted run (Ctrl+C,
  ``stop_after_trials``) is resumed by running it again; a trial that raised stays failed.

Search space (``search_space``): LightGBM's capacity and rate, ``min_data_in_leaf`` sized to
the timeframe (daily folds hold a few hundred rows), and strategy parameters that change the
trades (the entry threshold on the score and the stop; ``adx_min`` for swing, ``entry_z`` for
intraday), so two trials can reach different results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.trainable import TrialData, trainable

__all__ = [
    "Choice",
    "LogUniform",
    "TrialSummary",
    "TuneInterrupted",
    "TuneOptions",
    "Uniform",
    "milestones",
    "run_tuner",
    "sample_configs",
    "search_space",
    "tune_environment",
]

METRIC = "mean_sharpe"


@dataclass(frozen=True, slots=True)
class Choice:
    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return round(float(rng.uniform(self.low, self.high)), 6)


@dataclass(frozen=True, slots=True)
class LogUniform:
    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return round(float(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))), 6)


Domain = Choice | Uniform | LogUniform


class TuneInterrupted(RuntimeError):
    """The run stopped before every rung finished; running it again resumes it."""


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


def search_space(strategy: str, daily: bool) -> dict[str, Domain]:
    """The default space of ``strategy`` (module docstring)."""
    space: dict[str, Domain] = {
        "num_leaves": Choice((7, 15, 31)),
        "learning_rate": LogUniform(0.03, 0.2),
        "min_data_in_leaf": Choice((10, 25, 50) if daily else (100, 200, 400)),
        "feature_fraction": Uniform(0.6, 1.0),
        "n_estimators": Choice((50, 100, 150)),
        "score_threshold": Uniform(0.0, 0.08),
    }
    if strategy == "swing_trend_following":
        space |= {
            "adx_min": Uniform(10.0, 30.0),
            "stop_atr": Uniform(1.5, 4.0),
            "target_atr": Uniform(1.0, 4.0),
        }
    elif strategy == "intraday_mean_reversion":
        space |= {"model_entry_z": Uniform(0.5, 1.5), "stop_atr": Uniform(2.0, 4.0)}
    return space


def sample_configs(
    space: Mapping[str, Domain | Any], n: int, seed: int, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], ...]:
    """``n`` configurations drawn in key order from ``space`` (plain values pass through), each
    with the LightGBM ``seed`` and ``extra`` keys."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        config = {
            k: (v.sample(rng) if isinstance(v, Choice | Uniform | LogUniform) else v)
            for k, v in space.items()
        }
        out.append({**config, "seed": seed, **(extra or {})})
    return tuple(out)


def milestones(n_folds: int, grace: int = 1, factor: int = 2) -> list[int]:
    """Folds run by each rung: ``grace``, ``grace·factor``, ... below ``n_folds``, then ``n_folds``."""
    out, m = [], grace
    while m < n_folds:
        out.append(m)
        m *= factor
    return [*out, n_folds]


@dataclass(frozen=True)
class TuneOptions:
    """How one tuning run goes.

    ``configs`` replaces the sampled configurations; ``extra`` keys are added to each one.
    ``halving=False`` runs every trial over every fold. ``per_symbol`` runs each configuration
    pooled and per symbol (``training.per_symbol``); halving keeps the best of each kind. ``stop_after_trials`` interrupts the
    run like Ctrl+C once that many trials of a rung ended (then run it again to resume).
    """

    num_samples: int = 8
    storage_path: Path = Path("var/tune")
    name: str = "raydesk"
    seed: int = 7
    max_concurrent: int = 2
    halving: bool = True
    reduction_factor: int = 2
    verbose: int = 0
    configs: tuple[dict[str, Any], ...] | None = None
    stop_after_trials: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    per_symbol: bool = False

    @property
    def path(self) -> Path:
        return Path(self.storage_path).resolve() / self.name

    def trial_configs(self, data: TrialData, daily: bool) -> tuple[dict[str, Any], ...]:
        if self.configs is not None:
            configs = tuple({"seed": self.seed, **c, **self.extra} for c in self.configs)
        else:
            configs = sample_configs(
                search_space(data.strategy, daily), self.num_samples, self.seed, self.extra
            )
        if self.per_symbol:  # each configuration pooled and per symbol, in the same run
            configs = tuple({**c, "per_symbol": kind} for c in configs for kind in (False, True))
        return configs


@dataclass(frozen=True)
class TrialSummary:
    """One trial: its config, the folds it ran, its rung metric, and (if complete) its OOS result."""

    index: int
    config: dict[str, Any]
    folds_run: int
    sharpe: float
    oos: dict[str, Any] | None
    error: str | None
    fold_models: tuple[str, ...] = ()
    fold_sharpes: tuple[float, ...] = ()
    fold_periods: tuple[int, ...] = ()

    @property
    def trial_id(self) -> str:
        return f"t{self.index:03d}"

    @property
    def stopped(self) -> bool:
        return self.error is None and self.oos is None


def fingerprint(data: TrialData, configs: Sequence[dict[str, Any]]) -> str:
    """What a cached result depends on: the dataset, folds, costs and the configurations."""
    digest = hashlib.sha256()
    rows = data.dataset.hash_rows(seed=0)
    digest.update(rows.to_numpy().tobytes())
    digest.update(repr((data.strategy, data.folds, data.embargo, data.backtest, data.skipped)).encode())
    digest.update(json.dumps(list(configs), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def run_tuner(
    data: TrialData, options: TuneOptions, *, daily: bool = False, log: Callable[[str], None] | None = None
) -> list[TrialSummary]:
    """Tune ``data.strategy`` over its walk-forward folds by successive halving (module docstring).

    Returns every trial, by index; raises ``TuneInterrupted`` when a rung did not finish.
    """
    configs = options.trial_configs(data, daily)
    cache = options.path / "results" / fingerprint(data, configs)
    cache.mkdir(parents=True, exist_ok=True)
    n_folds = len(data.folds)
    rungs = milestones(n_folds, factor=options.reduction_factor) if options.halving else [n_folds]
    alive = list(range(len(configs)))
    latest: dict[int, TrialSummary] = {}
    for k, folds in enumerate(rungs):
        results = _run_rung(data, options, configs, alive, folds, cache, k)
        latest.update(results)
        ok = [i for i in alive if results[i].error is None]
        ran = f"rung {k}: {len(alive)} trials x {folds}/{n_folds} folds"
        if folds == n_folds:
            if log is not None:
                log(f"{ran}: done")
            break
        alive = _survivors(alive, ok, results, configs, options.reduction_factor)
        if log is not None:
            log(f"{ran}: keep {', '.join(f't{i:03d}' for i in alive) or 'none'}")
        if not alive:
            break
    return [latest[i] for i in sorted(latest)]


def _survivors(
    alive: list[int],
    ok: list[int],
    results: dict[int, TrialSummary],
    configs: tuple[dict[str, Any], ...],
    factor: int,
) -> list[int]:
    """The best ``1/factor`` of each kind (pooled, per-symbol) by (rung metric desc, index)."""
    keep: list[int] = []
    for kind in (False, True):
        group = [i for i in alive if bool(configs[i].get("per_symbol")) == kind]
        ranked = sorted((i for i in ok if i in group), key=lambda i: (-results[i].sharpe, i))
        keep += ranked[: max(1, math.ceil(len(group) / factor))] if group else []
    return sorted(keep)


def _run_rung(
    data: TrialData,
    options: TuneOptions,
    configs: tuple[dict[str, Any], ...],
    trials: list[int],
    folds: int,
    cache: Path,
    rung: int,
) -> dict[int, TrialSummary]:
    done = {i: s for i in trials if (s := _cached(cache, i, folds, configs[i])) is not None}
    todo = [i for i in trials if i not in done]
    if todo:
        for summary in _fit(data, options, configs, todo, folds, rung):
            _store(cache, summary, folds)
            done[summary.index] = summary
    missing = [i for i in trials if i not in done]
    if missing:
        raise TuneInterrupted(
            f"rung {rung} ({folds} folds) stopped with {len(missing)} trials unfinished; "
            f"run again to resume from {options.path}"
        )
    return done


def _fit(
    data: TrialData,
    options: TuneOptions,
    configs: tuple[dict[str, Any], ...],
    trials: list[int],
    folds: int,
    rung: int,
) -> list[TrialSummary]:
    tune_environment()
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    runnable = tune.with_resources(tune.with_parameters(trainable, data=data, configs=configs), {"cpu": 1})
    tuner = tune.Tuner(
        runnable,
        param_space={"trial": tune.grid_search(trials), "folds": folds},
        tune_config=tune.TuneConfig(
            num_samples=1,
            search_alg=BasicVariantGenerator(max_concurrent=options.max_concurrent),
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=f"{options.name}_rung{rung}",
            storage_path=str(Path(options.storage_path).resolve()),
            callbacks=_interrupter(options.stop_after_trials),
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False, num_to_keep=1),
            progress_reporter=_reporter(),
            verbose=options.verbose,
            log_to_file=False,
        ),
    )
    out = []
    grid = tuner.fit()
    for result in (grid[i] for i in range(len(grid))):
        index = int((result.config or {})["trial"])
        metrics = dict(result.metrics or {})
        error = _one_line(result.error) if result.error is not None else None
        if error is None and int(metrics.get("training_iteration", 0)) < folds:
            continue  # interrupted: not a result
        out.append(_summary(index, configs[index], metrics, error))
    return out


def _summary(index: int, config: dict[str, Any], metrics: dict[str, Any], error: str | None) -> TrialSummary:
    oos = {k: v for k, v in metrics.items() if k.startswith("oos_")} if "oos_sharpe" in metrics else None
    return TrialSummary(
        index,
        config,
        int(metrics.get("training_iteration", 0)),
        float(metrics.get(METRIC, math.nan)),
        oos,
        error,
        tuple(metrics.get("fold_models", ())),
        tuple(float(x) for x in metrics.get("fold_sharpes", ())),
        tuple(int(x) for x in metrics.get("fold_periods", ())),
    )


def _one_line(error: BaseException) -> str:
    """The root cause of a trial's failure in one line (not Ray's wrapped traceback)."""
    cause: BaseException = error
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause  # type: ignore[attr-defined]
    lines = [ln for ln in str(cause).strip().splitlines() if ln.strip()]
    return f"{type(cause).__name__}: {lines[-1].strip() if lines else ''}"


def _cache_file(cache: Path, index: int, folds: int) -> Path:
    return cache / f"t{index:03d}_f{folds}.json"


def _cached(cache: Path, index: int, folds: int, config: dict[str, Any]) -> TrialSummary | None:
    path = _cache_file(cache, index, folds)
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return _summary(index, config, raw["metrics"], raw["error"])


def _store(cache: Path, summary: TrialSummary, folds: int) -> None:
    metrics = {
        "training_iteration": summary.folds_run,
        METRIC: summary.sharpe,
        "fold_models": list(summary.fold_models),
        "fold_sharpes": list(summary.fold_sharpes),
        "fold_periods": list(summary.fold_periods),
        **(summary.oos or {}),
    }
    path = _cache_file(cache, summary.index, folds)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"metrics": metrics, "error": summary.error}, sort_keys=True))
    tmp.replace(path)


def _interrupter(n: int | None) -> list[Any]:
    """A callback that interrupts the run (SIGUSR1, Tune's Ctrl+C) once ``n`` trials ended."""
    if n is None:
        return []
    from ray.tune import Callback

    class InterruptAfter(Callback):
        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            if sum(t.status == "TERMINATED" for t in trials) == n:
                os.kill(os.getpid(), signal.SIGUSR1)

    return [InterruptAfter()]


def _reporter() -> Any:
    from ray import tune

    return tune.CLIReporter(
        parameter_columns={"trial": "trial", "folds": "folds"},
        metric_columns={"training_iteration": "done", METRIC: "sharpe", "oos_sharpe": "oos"},
        max_report_frequency=30,
        max_progress_rows=10,
        print_intermediate_tables=False,
    )
