"""Backtest a registered model: its strategy, parameters and scores over bars it names.

``model_bars`` reads the bars of a model's lineage (the store it was trained from, or the
synthetic market with the recorded seed and edge) over its data window or a given one;
``backtest_model`` scores them with the artifact and runs the configured strategy through the
backtester with the training run's costs, then checks the same gates as at promotion (with the
trial count the registry recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from core.calendar import to_new_york
from training.backtest import BacktestConfig, BacktestResult, simulate
from training.dataset import LabelConfig, build_dataset, read_training_bars, warmup_sessions
from training.gates import GateConfig, GateReport, evaluate_gates
from training.metrics import session_returns
from training.model import ScoreModel
from training.registry import ModelVersion
from training.trainable import make_configured_strategy

__all__ = ["ModelBacktest", "backtest_model", "model_bars"]


@dataclass(frozen=True)
class ModelBacktest:
    """The backtest of a registered model and its gates over that backtest."""

    model: ModelVersion
    result: BacktestResult
    gates: GateReport | None
    in_sample: bool


def model_bars(
    model: ModelVersion,
    data_dir: Path | None,
    start: date | None = None,
    end: date | None = None,
    symbols: list[str] | None = None,
) -> pl.DataFrame:
    """Bars for ``model``: its lineage's source, symbols and window unless given (from ``start``
    less the features' warm-up; pass ``since=start`` to ``backtest_model``)."""
    source: dict[str, Any] = model.params.get("source") or {}
    # From ``start``, plus the sessions the features need to warm up (about 7 days per 5 sessions).
    base = model.params.get("base_strategy") or model.strategy
    warm = timedelta(days=warmup_sessions(base) * 7 // 5 + 10)
    first = start - warm if start else to_new_york(model.data_window[0]).date()
    last = end or to_new_york(model.data_window[1]).date()
    chosen = symbols or list(model.params.get("symbols") or [])
    synthetic = source.get("kind") == "synthetic"
    bars, _ = read_training_bars(
        base,
        chosen,
        first,
        last,
        None if synthetic else (data_dir or Path(source.get("root") or ".")),
        synthetic=synthetic,
        seed=int(source.get("seed") or 7),
        edge_enabled=bool(source.get("edge", True)),
    )
    return bars


def backtest_model(
    model: ModelVersion,
    artifact: bytes,
    bars: pl.DataFrame,
    config: BacktestConfig | None = None,
    gates: GateConfig | None = None,
    since: date | None = None,
) -> ModelBacktest:
    """Score ``bars`` with the model, trade its configured strategy, check the gates (module docstring)."""
    scorer = ScoreModel.from_bytes(artifact)
    label = LabelConfig(**model.params["label"]) if model.params.get("label") else None
    dataset = build_dataset(bars, model.params.get("base_strategy") or model.strategy, label)
    frame = dataset.with_columns(pl.Series("score", scorer.predict(dataset)).fill_nan(None))
    strategy = make_configured_strategy(
        model.params.get("base_strategy") or model.strategy, model.params.get("strategy")
    )
    cfg = config or BacktestConfig(slippage=1e-4, close_at_end=True)
    n_symbols = frame["symbol"].n_unique()
    if (model.params.get("source") or {}).get("timeframe") == "1d":
        cfg = replace(cfg, max_positions=max(cfg.max_positions, n_symbols))
    signals = strategy.signals(frame)
    if since is not None:  # earlier rows only warmed the features up
        signals = signals.filter(pl.col("session") >= since)
    result = simulate(signals, cfg, strategy.name)
    n_trials = int((model.gate_report or {}).get("deflated", {}).get("n_trials") or 1)
    variance = float((model.gate_report or {}).get("deflated", {}).get("sharpe_variance") or 0.0)
    report = None
    series = session_returns(result.equity.select("ts", "equity"))
    if series.size >= 2 and series.std() > 0:
        report = evaluate_gates(result.metrics, n_trials, variance, series, gates)
    lo, hi = result.metrics.start, result.metrics.end
    in_sample = lo <= model.data_window[1] and hi >= model.data_window[0]
    return ModelBacktest(model, result, report, in_sample)
