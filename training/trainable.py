"""Walk-forward evaluation of one configuration, and the Tune trainable around it.

For each walk-forward fold (purged and embargoed by ``training.splits``) a ``ScoreModel`` is
trained on the fold's train rows and scores its test rows. The strategy then runs over the
fold's backtest window (the test sessions plus the warm-up its features need) with the
out-of-sample ``score`` column, and only the test rows go through the backtester
(``training.backtest.simulate``: the simulated exchange's fill rules and costs). The pooled
out-of-sample result is one backtest over every fold's test rows, in time order.

``trainable`` runs the first ``config["folds"]`` folds of one configuration (the tuner's
successive-halving rungs, ``training.tuner``) and reports once per fold; when the last fold of
the layout ran, the report also carries the pooled out-of-sample metrics and the session
returns behind them (for the deflated Sharpe). Each report lists the fold models' SHA-256s,
so the registry can relate the promoted refit to the fold models that produced the evidence.

Config keys that name a field of the strategy (``score_threshold``, ``adx_min``, ``stop_atr``,
``entry_z`` ...) configure the strategy; ``per_symbol`` trains one model per symbol per fold
instead of one pooled model; the rest configure LightGBM (``ModelParams``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from core.features import FeatureSetName
from core.strategies import STRATEGIES, Strategy
from training.backtest import BacktestConfig, BacktestResult, simulate
from training.dataset import feature_columns, feature_set_of, warmup_sessions
from training.metrics import session_returns
from training.model import ModelParams, ScoreModel
from training.splits import Fold, split_indices

__all__ = [
    "SkippedFold",
    "TrialData",
    "WalkForwardResult",
    "make_configured_strategy",
    "rules_only",
    "strategy_params",
    "trainable",
    "walk_forward",
]

FoldCallback = Callable[[int, dict[str, Any]], None]
_NOT_TUNABLE = frozenset({"name", "score_fn"})


@dataclass(frozen=True, slots=True)
class SkippedFold:
    """A fold of the layout that cannot be trained, and why (it takes no part in any trial)."""

    index: int
    reason: str


@dataclass(frozen=True)
class TrialData:
    """Everything a trial reads; placed once in the object store by the tuner."""

    strategy: str
    dataset: pl.DataFrame
    folds: tuple[Fold, ...]
    embargo: timedelta
    backtest: BacktestConfig
    skipped: tuple[SkippedFold, ...] = field(default=())

    @property
    def features(self) -> tuple[str, ...]:
        return feature_columns(self.strategy)

    @property
    def feature_set(self) -> FeatureSetName:
        return feature_set_of(self.strategy)

    @property
    def sessions(self) -> list[date]:
        out: list[date] = self.dataset["session"].unique().sort().to_list()
        return out


@dataclass(frozen=True)
class WalkForwardResult:
    """Per-fold results and the pooled out-of-sample backtest of one configuration."""

    folds: tuple[BacktestResult, ...]
    pooled: BacktestResult
    signals: pl.DataFrame

    @property
    def returns(self) -> list[float]:
        return [float(x) for x in session_returns(self.pooled.equity.select("ts", "equity"))]


def strategy_params(name: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """The keys of ``config`` that are fields of strategy ``name`` (module docstring)."""
    tunable = {f.name for f in fields(STRATEGIES[name]())} - _NOT_TUNABLE  # type: ignore[arg-type]
    return {k: v for k, v in (config or {}).items() if k in tunable}


def make_configured_strategy(name: str, config: dict[str, Any] | None = None) -> Strategy:
    """The registered strategy with the strategy keys of a Tune ``config`` applied."""
    strategy = STRATEGIES[name]()
    values = strategy_params(name, config)
    return replace(strategy, **values) if values else strategy  # type: ignore[type-var]


def _window(data: TrialData, fold: Fold) -> pl.Series:
    """Rows of the fold's backtest window: its test sessions plus the features' warm-up."""
    sessions = data.sessions
    first = sessions.index(fold.test_start)
    warm_start = sessions[max(0, first - warmup_sessions(data.strategy))]
    return data.dataset["session"].is_between(warm_start, fold.test_end)


def _test_signals(
    data: TrialData, strategy: Strategy, fold: Fold, scores: np.ndarray[Any, Any] | None
) -> pl.DataFrame:
    frame = data.dataset
    if scores is not None:
        frame = frame.with_columns(pl.Series("score", scores).fill_nan(None))
    signals = strategy.signals(frame.filter(_window(data, fold)))
    return signals.filter(pl.col("session").is_between(fold.test_start, fold.test_end))


def walk_forward(
    data: TrialData,
    config: dict[str, Any],
    *,
    num_threads: int = 1,
    on_fold: FoldCallback | None = None,
    n_folds: int | None = None,
) -> WalkForwardResult:
    """Train, score and backtest the first ``n_folds`` (default: every) fold of ``data``.

    ``pooled`` is the pooled out-of-sample backtest over the folds that ran.
    """
    params = ModelParams.from_config(config, num_threads=num_threads)
    strategy = make_configured_strategy(data.strategy, config)
    frame = data.dataset
    folds = data.folds[: n_folds or len(data.folds)]
    fold_results: list[BacktestResult] = []
    pieces: list[pl.DataFrame] = []
    fold_sharpes: list[float] = []
    periods: list[int] = []
    pooled: BacktestResult | None = None
    shas: list[str] = []
    hits = seen = 0
    for fold in folds:
        train, test = split_indices(frame, fold, data.embargo)
        scores = np.full(frame.height, np.nan)
        models = _fold_models(data, train, test, params, bool(config.get("per_symbol")), scores)
        labels = frame["label"][test].cast(pl.Float64).to_numpy()
        known = ~np.isnan(labels)
        hits += int(np.sum((scores[test][known] >= 0.5) == (labels[known] == 1)))
        seen += int(known.sum())
        signals = _test_signals(data, strategy, fold, scores)
        result = simulate(signals, data.backtest, strategy.name)
        fold_results.append(result)
        pieces.append(signals)
        fold_sharpes.append(_finite(result.metrics.sharpe))
        last = fold is data.folds[-1]
        pooled = simulate(pl.concat(pieces), data.backtest, strategy.name) if last else None
        if on_fold is not None:
            shas.append(hashlib.sha256(b"".join(m.to_bytes() for m in models)).hexdigest())
            periods.append(result.metrics.n_periods)
            report = {
                **_fold_report(fold, result, fold_sharpes),
                "fold_models": list(shas),
                "fold_periods": list(periods),
            }
            if pooled is not None:
                report |= {**pooled_report(pooled), "oos_hit_rate": hits / seen if seen else None}
            on_fold(fold.index, report)
    signals = pl.concat(pieces)
    if pooled is None:
        pooled = simulate(signals, data.backtest, strategy.name)
    return WalkForwardResult(tuple(fold_results), pooled, signals)


def _fold_models(
    data: TrialData,
    train: np.ndarray[Any, Any],
    test: np.ndarray[Any, Any],
    params: ModelParams,
    per_symbol: bool,
    scores: np.ndarray[Any, Any],
) -> list[ScoreModel]:
    """Train the fold's model (one per symbol with ``per_symbol``) and fill the test rows' scores.

    A symbol whose training rows hold one label class gets no model: its test rows stay unscored
    (the strategy does not enter without a score)."""
    frame = data.dataset
    if not per_symbol:
        model = ScoreModel.train(frame[train], data.features, data.feature_set, params)
        scores[test] = model.predict(frame[test])
        return [model]
    symbols = frame["symbol"].to_numpy()
    models = []
    for symbol in sorted(set(symbols[test])):
        own_train, own_test = train[symbols[train] == symbol], test[symbols[test] == symbol]
        labels = frame["label"][own_train].drop_nulls()
        if labels.n_unique() < 2:
            continue
        model = ScoreModel.train(frame[own_train], data.features, data.feature_set, params)
        scores[own_test] = model.predict(frame[own_test])
        models.append(model)
    return models


def rules_only(data: TrialData, config: dict[str, Any] | None = None) -> BacktestResult:
    """The strategy without a model over the same test folds (the baseline to beat)."""
    strategy = make_configured_strategy(data.strategy, config)
    pieces = [_test_signals(data, strategy, fold, None) for fold in data.folds]
    return simulate(pl.concat(pieces), data.backtest, strategy.name)


def _finite(x: float) -> float:
    # An undefined Sharpe (no trades, flat equity) counts as no edge.
    return x if math.isfinite(x) else 0.0


def _fold_report(fold: Fold, result: BacktestResult, sharpes: list[float]) -> dict[str, Any]:
    m = result.metrics
    return {
        "fold": fold.index,
        "fold_sharpe": _finite(m.sharpe),
        "fold_trades": m.n_trades,
        "fold_return": m.total_return,
        "mean_sharpe": float(np.mean(sharpes)),
        "fold_sharpes": list(sharpes),
    }


def pooled_report(pooled: BacktestResult) -> dict[str, Any]:
    """The pooled out-of-sample metrics as flat ``oos_*`` keys plus the session returns."""
    m = pooled.metrics
    returns = session_returns(pooled.equity.select("ts", "equity"))
    return {
        "oos_sharpe": _finite(m.sharpe),
        "oos_max_drawdown_pct": m.max_drawdown_pct,
        "oos_n_trades": m.n_trades,
        "oos_win_rate": m.win_rate if math.isfinite(m.win_rate) else 0.0,
        "oos_total_return": m.total_return,
        "oos_periods_per_year": m.periods_per_year,
        "oos_returns": [float(x) for x in returns],
        "oos_metrics": m.to_dict(),
    }


def trainable(config: dict[str, Any], data: TrialData, configs: tuple[dict[str, Any], ...]) -> None:
    """Tune function trainable: trial ``config["trial"]`` of ``configs`` over its first
    ``config["folds"]`` folds, LightGBM on one thread (the same booster on any machine).

    A config with ``inject_failure`` raises on purpose (the failure-tolerance test).
    """
    from ray import tune

    index = int(config["trial"])
    chosen = configs[index]
    if chosen.get("inject_failure"):
        raise RuntimeError("injected failure")

    def report(_fold: int, metrics: dict[str, Any]) -> None:
        tune.report({**metrics, "trial": index})

    walk_forward(data, chosen, num_threads=1, on_fold=report, n_folds=int(config["folds"]))
