"""Honest evaluation: the planted intraday edge is found and promoted; noise never is.

Calibration (``docs/training.md``): 3 symbols x ~50 sessions of 1-minute bars, 3 walk-forward
folds of 8 test sessions (20 train, 1 embargo), 4 Tune trials, 1 bp slippage per fill (about the
half-spread of the cheapest synthetic symbols; the sim's default commission is zero), and the
default gates from the settings (Sharpe >= 1, drawdown <= 10 %, >= 100 trades, win rate >= 45 %,
deflated Sharpe >= 0.95).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from configs import Settings
from core.clock import LiveClock
from training.pipeline import TrainingOptions, TrainingOutcome, train_and_promote
from training.registry import ModelRegistry
from training.tuner import TuneOptions

pytestmark = pytest.mark.slow  # several Tune runs

SYMBOLS = ["SYNA", "SYNB", "SYNC"]
START, END = date(2025, 1, 2), date(2025, 3, 14)
NOISE_SEEDS = (11, 12, 13, 14, 15)


def _run(tmp: Path, seed: int, edge: bool) -> TrainingOutcome:
    options = TrainingOptions.from_settings(
        Settings(),
        num_samples=4,
        folds=3,
        train_sessions=20,
        test_sessions=8,
        embargo_sessions=1,
        seed=seed,
        synthetic=True,
        edge_enabled=edge,
        baseline=edge,  # the rules-only comparison is only asserted with the edge on
        tune=TuneOptions(storage_path=tmp / "tune", name=f"seed{seed}_{edge}", seed=seed, verbose=0),
    )
    registry = ModelRegistry(tmp / "registry", LiveClock())
    return train_and_promote(
        "intraday_mean_reversion", SYMBOLS, START, END, options, registry, Console(quiet=True)
    )


def test_planted_edge_passes_gates_and_beats_rules(ray_session: Any, tmp_path: Path) -> None:
    outcome = _run(tmp_path, seed=1, edge=True)
    assert outcome.gate_report is not None
    assert outcome.gate_report.passed, outcome.gate_report.to_dict()
    assert outcome.promoted and outcome.version is not None
    assert outcome.rules_only_sharpe is not None
    assert outcome.oos_sharpe > outcome.rules_only_sharpe
    print(f"edge on: OOS Sharpe {outcome.oos_sharpe:.2f}, rules only {outcome.rules_only_sharpe:.2f}")


@pytest.mark.parametrize("seed", NOISE_SEEDS)
def test_no_model_passes_without_edge(ray_session: Any, tmp_path: Path, seed: int) -> None:
    outcome = _run(tmp_path, seed=seed, edge=False)
    assert not outcome.promoted
    if outcome.gate_report is not None:
        assert not outcome.gate_report.passed
        print(f"seed {seed}: OOS Sharpe {outcome.oos_sharpe:.2f}, failed {outcome.gate_report.failed}")
