"""16 walk-forward trainings: Ray Tune (2 trials x 1 CPU, LightGBM 1 thread) vs a plain loop.

The loop runs the same 4 parameter sets x 4 folds sequentially in this process with LightGBM on
both cores (``num_threads=2``). Both use the same prepared data; Ray starts before either clock.
Writes the figures into the "## Tune vs sequential loop" section of ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/bench_tune.py [--no-write]
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section as write_results  # noqa: E402
from training.pipeline import TrainingOptions, prepare  # noqa: E402
from training.trainable import TrialData, walk_forward  # noqa: E402
from training.tuner import TuneOptions, run_tuner, tune_environment  # noqa: E402

SECTION = "## Tune vs sequential loop"
PRESETS: list[dict[str, Any]] = [
    {
        "num_leaves": 7,
        "learning_rate": 0.1,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.9,
        "n_estimators": 100,
    },
    {
        "num_leaves": 15,
        "learning_rate": 0.05,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.8,
        "n_estimators": 150,
    },
    {
        "num_leaves": 31,
        "learning_rate": 0.1,
        "min_data_in_leaf": 400,
        "feature_fraction": 1.0,
        "n_estimators": 100,
    },
    {
        "num_leaves": 15,
        "learning_rate": 0.15,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.7,
        "n_estimators": 50,
    },
]
for p in PRESETS:
    p["score_threshold"] = 0.03


def _data() -> TrialData:
    options = TrainingOptions(folds=4, train_sessions=20, test_sessions=5, seed=1, synthetic=True)
    symbols = ["SYNA", "SYNB", "SYNC", "SYND"]
    return prepare("intraday_mean_reversion", symbols, date(2025, 1, 2), date(2025, 3, 14), options)[0]


def _loop(data: TrialData, threads: int) -> float:
    t = time.perf_counter()
    for config in PRESETS:
        walk_forward(data, config, num_threads=threads)
    return time.perf_counter() - t


def _tune(data: TrialData) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        options = TuneOptions(storage_path=Path(tmp), name="bench", halving=False, configs=tuple(PRESETS))
        t = time.perf_counter()
        trials = run_tuner(data, options)
        elapsed = time.perf_counter() - t
    assert all(t.error is None for t in trials) and len(trials) == len(PRESETS)
    return elapsed


def main() -> None:
    tune_environment()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    data = _data()
    load_before = os.getloadavg()
    tune_s = _tune(data)
    loop2_s = _loop(data, 2)
    loop1_s = _loop(data, 1)
    load_after = os.getloadavg()
    ratio = tune_s / loop2_s
    rows = data.dataset.height
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/bench_tune.py`: 4 parameter sets x 4 walk-forward folds = 16 LightGBM trainings "
        f"(intraday_mean_reversion, 4 symbols, {rows} minute rows, each fold also scores and backtests "
        f"its test sessions). Same process, Ray already up (2 CPUs), data prepared once.\n\n"
        f"| run | wall time (s) |\n| --- | ---: |\n"
        f"| Tune: 2 concurrent trials x 1 CPU, LightGBM 1 thread, reuse_actors, no loggers | {tune_s:.1f} |\n"
        f"| plain loop, LightGBM num_threads=2 | {loop2_s:.1f} |\n"
        f"| plain loop, LightGBM num_threads=1 (reference) | {loop1_s:.1f} |\n\n"
        f"Ratio Tune / loop(2 threads) = **{ratio:.2f}** (target <= 1.1: "
        f"{'met' if ratio <= 1.1 else 'NOT met'}); Tune / loop(1 thread) = {tune_s / loop1_s:.2f}.\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load_before[0]:.1f} before / {load_after[0]:.1f} after (the box is shared; "
        f"LightGBM with 2 threads suffers most from other processes on the cores).\n"
    )
    print(text)
    if "--no-write" not in sys.argv:
        write_results(SECTION, text)


if __name__ == "__main__":
    main()
