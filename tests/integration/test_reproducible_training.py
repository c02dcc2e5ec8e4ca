"""Same seed, data and options: the same trials, stopped trials, metrics, model bytes and decision,
whether trials run one or two at a time; reruns count toward the deflated Sharpe's trials.

Small data: 3 synthetic symbols' daily bars of 2022-2023 in a bar store, the default daily
layout (after 200 warm-up sessions, 7 anchored folds of 30 test sessions), 4 trials.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BarStore
from core.clock import SimClock
from training.pipeline import TrainingOptions, TrainingOutcome, train_and_promote
from training.registry import ModelRegistry
from training.tuner import TuneOptions

pytestmark = pytest.mark.slow  # several Tune runs

SWING = "swing_trend_following"
SYMBOLS = ["SYNA", "SYNB", "SYNC"]
START, END = date(2022, 1, 3), date(2023, 12, 29)


def _store(root: Path) -> Path:
    config = SyntheticMarketConfig(seed=3, symbols=tuple(SYMBOLS), start=START, end=END)
    BarStore(root).write(daily_bars(generate_bars(config)), "1d")
    return root


def _run(tmp: Path, data: Path, registry: Path, concurrent: int, name: str) -> TrainingOutcome:
    options = TrainingOptions(
        data_dir=data,
        seed=3,
        baseline=False,
        tune=TuneOptions(
            num_samples=4, storage_path=tmp / name, name="run", seed=3, max_concurrent=concurrent
        ),
    )
    clock = SimClock(datetime(2024, 1, 2, tzinfo=UTC))
    return train_and_promote(
        SWING, SYMBOLS, START, END, options, ModelRegistry(registry, clock), Console(quiet=True)
    )


def _entry(outcome: TrainingOutcome) -> tuple[bytes, bytes]:
    assert outcome.version is not None
    directory = outcome.version.artifact_path.parent
    return (directory / "model.bin").read_bytes(), (directory / "metadata.json").read_bytes()


def test_same_seed_same_registry_entry_on_one_or_two_cpus(ray_session: Any, tmp_path: Path) -> None:
    data = _store(tmp_path / "bars")
    one = _run(tmp_path, data, tmp_path / "reg1", concurrent=1, name="one")
    two = _run(tmp_path, data, tmp_path / "reg2", concurrent=2, name="two")
    assert one.source is not None and one.source.kind == "store" and one.source.symbols == tuple(SYMBOLS)
    assert len(one.trials) == 4 and [t.folds_run for t in one.trials] == [t.folds_run for t in two.trials]
    assert sum(t.stopped for t in one.trials) >= 2  # halving stopped some, the same ones
    assert one.trials == two.trials and one.promoted == two.promoted
    assert _entry(one) == _entry(two)  # model.bin and metadata.json, byte for byte
    assert one.version is not None
    lineage = one.version.params
    assert lineage["source"]["kind"] == "store" and lineage["model"]["num_threads"] == 1
    assert lineage["model"]["seed"] == 3
    folds = lineage["validation"]["fold_models"]
    assert one.best is not None and [f["sha256"] for f in folds] == list(one.best.fold_models)

    # A rerun into the same registry: the same model and metrics, twice the trials counted.
    again = _run(tmp_path, data, tmp_path / "reg1", concurrent=2, name="again")
    assert again.version is not None and again.version.version == "v0002"
    assert again.version.metrics == one.version.metrics
    assert _entry(again)[0] == _entry(one)[0]
    assert again.n_trials_counted == 8 and again.gate_report is not None
    assert again.gate_report.deflated.n_trials == 8
