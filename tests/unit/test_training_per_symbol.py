"""Per-symbol vs pooled on a planted per-symbol edge: SYNA mean-reverts (the synthetic edge),
SYNB is a martingale (edge off). Each symbol's OOS trades of both models are compared, the own
model is registered as ``<strategy>.<SYMBOL>`` and promoted only where it passes the gates and
beats the pooled model there."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from adapters.store import BarStore
from core.clock import SimClock
from training.gates import GateConfig, GateReport
from training.model import ScoreModel
from training.per_symbol import choose_per_symbol, symbol_strategy
from training.pipeline import TrainingOptions, _register_symbol, prepare
from training.registry import ModelRegistry, ModelVersion
from training.trainable import walk_forward
from training.tuner import TrialSummary

IMR = "intraday_mean_reversion"
CONFIG = {"num_leaves": 7, "n_estimators": 40, "min_data_in_leaf": 100, "score_threshold": 0.02, "seed": 1}
LENIENT = GateConfig(
    min_sharpe=0.0, max_drawdown_pct=100.0, min_trades=5, min_win_rate=0.0, min_deflated_sharpe=0.0
)


def _planted(root: Path) -> Path:
    first, last = date(2025, 1, 2), date(2025, 2, 28)
    edge = generate_bars(SyntheticMarketConfig(seed=5, symbols=("SYNA",), start=first, end=last))
    noise = generate_bars(
        SyntheticMarketConfig(seed=6, symbols=("SYNB",), start=first, end=last, edge_enabled=False)
    )
    BarStore(root).write(pl.concat([edge, noise]), "1m")
    return root


def test_per_symbol_models_win_only_where_they_beat_the_pooled_one(tmp_path: Path) -> None:
    data_dir = _planted(tmp_path / "bars")
    options = TrainingOptions(folds=3, train_sessions=15, test_sessions=6, data_dir=data_dir, gates=LENIENT)
    data, source = prepare(IMR, ["SYNA", "SYNB"], date(2025, 1, 2), date(2025, 2, 28), options)
    pooled = TrialSummary(0, dict(CONFIG), 3, 0.0, {}, None)
    own = TrialSummary(1, {**CONFIG, "per_symbol": True}, 3, 0.0, {}, None)
    registry = ModelRegistry(tmp_path / "models", SimClock(datetime(2025, 3, 1, tzinfo=UTC)))

    def register(symbol: str, model: ScoreModel, report: GateReport, extra: dict[str, Any]) -> ModelVersion:
        return _register_symbol(registry, data, source, symbol, model, report, extra, options)

    choices = choose_per_symbol(
        data, pooled, own, 2, 0.0, LENIENT, register, lambda name, v: registry.promote(name, v)
    )
    assert [c.symbol for c in choices] == ["SYNA", "SYNB"]
    for c in choices:
        assert c.report is not None and c.version is not None
        beats = c.report.passed and c.own_sharpe > c.pooled_sharpe
        assert c.promoted == beats
        current = registry.promoted(symbol_strategy(IMR, c.symbol))
        assert (current is not None) == beats
        assert c.version.params["base_strategy"] == IMR and c.version.params["symbols"] == [c.symbol]
    edge, noise = choices
    assert edge.own_sharpe > noise.own_sharpe  # the planted edge is SYNA's alone
    # The per-symbol trial really trains one model per symbol: different scores from the pooled.
    assert not walk_forward(data, own.config).signals.equals(walk_forward(data, pooled.config).signals)
    print([(c.symbol, round(c.pooled_sharpe, 2), round(c.own_sharpe, 2), c.winner) for c in choices])
