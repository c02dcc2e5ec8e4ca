"""Per-symbol models against the pooled model, out of sample, symbol by symbol.

With ``--per-symbol`` every sampled configuration runs twice in the same Tune run: pooled (one
model per fold over every symbol) and ``per_symbol`` (one model per symbol per fold). After the
search, the best trial of each kind is replayed in process (deterministic, so the same numbers)
and each symbol's out-of-sample trades of both are backtested on their own. A symbol's own model
wins when it passes the gates on that symbol (with the run's trial count) and its OOS Sharpe
beats the pooled model's there; it is then registered and promoted as ``<strategy>.<SYMBOL>``
(a registry strategy of its own). Serving picks ``<strategy>.<SYMBOL>`` for a symbol when such a
promoted version exists, else the pooled ``<strategy>`` model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from training.backtest import simulate
from training.gates import GateConfig, GateReport, evaluate_gates
from training.metrics import session_returns
from training.model import ModelParams, ScoreModel
from training.registry import ModelVersion
from training.trainable import TrialData, strategy_params, walk_forward
from training.tuner import TrialSummary

__all__ = ["SymbolChoice", "choose_per_symbol", "symbol_strategy"]


def symbol_strategy(strategy: str, symbol: str) -> str:
    """The registry name of ``strategy``'s model for one ``symbol``."""
    return f"{strategy}.{symbol}"


@dataclass(frozen=True)
class SymbolChoice:
    """One symbol: both models' OOS Sharpe there, the per-symbol gates, and what serves it."""

    symbol: str
    pooled_sharpe: float
    own_sharpe: float
    report: GateReport | None
    version: ModelVersion | None
    promoted: bool

    @property
    def winner(self) -> str:
        return "per-symbol" if self.promoted else "pooled"


def choose_per_symbol(
    data: TrialData,
    pooled: TrialSummary,
    own: TrialSummary,
    n_trials: int,
    variance: float,
    gates: GateConfig,
    register: Callable[[str, ScoreModel, GateReport, dict[str, Any]], ModelVersion],
    promote: Callable[[str, str], object],
) -> list[SymbolChoice]:
    """Compare ``pooled`` and ``own`` (a ``per_symbol`` trial) per symbol (module docstring)."""
    pooled_run = walk_forward(data, pooled.config)
    own_run = walk_forward(data, own.config)
    params = ModelParams.from_config(own.config, num_threads=1)
    out = []
    for symbol in sorted(data.dataset["symbol"].unique().to_list()):
        base = _sharpe_of(pooled_run.signals, symbol, data)
        result = simulate(own_run.signals.filter(pl.col("symbol") == symbol), data.backtest, data.strategy)
        returns = session_returns(result.equity.select("ts", "equity"))
        report = None
        if returns.size >= 2 and float(returns.std()) > 0:
            report = evaluate_gates(result.metrics, n_trials, variance, returns, gates)
        sharpe = result.metrics.sharpe
        wins = report is not None and report.passed and math.isfinite(sharpe) and sharpe > base
        version = None
        rows = data.dataset.filter(pl.col("symbol") == symbol)
        if report is not None and rows["label"].drop_nulls().n_unique() == 2:
            model = ScoreModel.train(rows, data.features, data.feature_set, params)
            lineage = {
                "pooled_oos_sharpe": base if math.isfinite(base) else None,
                "own_oos_sharpe": sharpe if math.isfinite(sharpe) else None,
                "strategy": strategy_params(data.strategy, own.config),
                "per_symbol_trial": own.trial_id,
                "pooled_trial": pooled.trial_id,
                "metrics": result.metrics.to_dict(),
            }
            version = register(symbol, model, report, lineage)
            if wins:
                promote(symbol_strategy(data.strategy, symbol), version.version)
        out.append(SymbolChoice(symbol, base, sharpe, report, version, bool(wins and version)))
    return out


def _sharpe_of(signals: pl.DataFrame, symbol: str, data: TrialData) -> float:
    return simulate(signals.filter(pl.col("symbol") == symbol), data.backtest, data.strategy).metrics.sharpe
