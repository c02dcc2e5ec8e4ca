"""``train_and_promote``: bars → dataset → Tune → gates → registry, promoted only if every gate passes.

Choices worth knowing (``docs/training.md`` has the full story):

* the best trial is the one with the highest pooled out-of-sample Sharpe among the trials that
  ran every fold (ASHA-stopped and failed trials count as tried, not as candidates);
* the gates see that trial's pooled out-of-sample metrics and session returns, with
  ``n_trials`` = every trial started (failed ones included) and the variance of the trials'
  Sharpe ratios (out-of-sample where complete, the running fold mean otherwise): the deflated
  Sharpe then charges for the search;
* the registered model is refit on every labelled row of the window with the best params (the
  fold models only produced the out-of-sample evidence; the recipe is what was validated).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from training.backtest import BacktestConfig
from training.dataset import LabelConfig, build_dataset, feature_set_of, load_bars
from training.gates import GateConfig, GateReport, evaluate_gates, per_period_sharpe_variance
from training.metrics import BacktestMetrics
from training.model import ModelParams, ScoreModel
from training.registry import ModelRegistry, ModelVersion
from training.splits import walk_forward_folds
from training.trainable import STRATEGY_KEYS, TrialData, rules_only
from training.tuner import SEARCH_SPACE, TuneOptions, run_tuner

__all__ = ["TrainingOptions", "TrainingOutcome", "TrialSummary", "code_version", "train_and_promote"]

_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class TrainingOptions:
    """Fold layout (in sessions), costs, gates, labels, tuning and where bars come from."""

    folds: int = 3
    train_sessions: int = 20
    test_sessions: int = 8
    embargo_sessions: int = 1
    gates: GateConfig = field(default_factory=GateConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    backtest: BacktestConfig = field(default_factory=lambda: BacktestConfig(slippage=1e-4, close_at_end=True))
    tune: TuneOptions = field(default_factory=TuneOptions)
    data_dir: Path | None = None
    seed: int = 7
    edge_enabled: bool = True
    baseline: bool = True
    final_threads: int = 2

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> TrainingOptions:
        """Folds, embargo, gates and ``num_samples`` from ``Settings.training``."""
        t = settings.training
        g = t.gates
        gates = GateConfig(
            g.min_sharpe, g.max_drawdown_pct, g.min_trades, g.min_win_rate, g.min_deflated_sharpe
        )
        tune = overrides.pop("tune", TuneOptions())
        tune = replace(tune, num_samples=overrides.pop("num_samples", t.num_samples))
        # Folds are laid out in sessions; an embargo of any bars covers at least one session.
        embargo = overrides.pop("embargo_sessions", max(1, math.ceil(t.embargo_bars / 390)))
        folds = overrides.pop("folds", t.folds)
        return cls(folds=folds, embargo_sessions=embargo, gates=gates, tune=tune, **overrides)


@dataclass(frozen=True)
class TrialSummary:
    """One trial as the pipeline saw it."""

    trial_id: str
    config: dict[str, Any]
    folds_run: int
    sharpe: float
    oos: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class TrainingOutcome:
    """Everything decided by one ``train_and_promote`` run."""

    strategy: str
    trials: tuple[TrialSummary, ...]
    best: TrialSummary | None
    gate_report: GateReport | None
    rules_only_sharpe: float | None
    version: ModelVersion | None
    promoted: bool
    experiment_path: Path

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def oos_sharpe(self) -> float:
        return float(self.best.oos["oos_sharpe"]) if self.best and self.best.oos else math.nan


def code_version() -> str:
    """Package version plus a digest of the source of ``core``, ``training`` and ``adapters``."""
    try:
        version = metadata.version("raydesk")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    digest = hashlib.sha256()
    for package in ("core", "training", "adapters"):
        for path in sorted((_ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(_ROOT)).encode())
            digest.update(path.read_bytes())
    return f"{version}+src.{digest.hexdigest()[:12]}"


def _trials(grid: Any) -> list[TrialSummary]:
    out = []
    for result in grid:
        m = dict(result.metrics or {})
        oos = {k: v for k, v in m.items() if k.startswith("oos_")} if "oos_sharpe" in m else None
        sharpe = float(oos["oos_sharpe"]) if oos else float(m.get("mean_sharpe", math.nan))
        config = {k: v for k, v in (result.config or {}).items() if k in SEARCH_SPACE}
        error = repr(result.error) if result.error is not None else None
        trial_id = str(m.get("trial_id", result.path))
        out.append(TrialSummary(trial_id, config, int(m.get("training_iteration", 0)), sharpe, oos, error))
    return sorted(out, key=lambda t: t.trial_id)


def _metrics(d: dict[str, Any]) -> BacktestMetrics:
    def num(key: str) -> float:
        v = d.get(key)
        return math.nan if v is None else float(v)

    return BacktestMetrics(
        start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
        total_return=num("total_return"),
        cagr=num("cagr"),
        volatility=num("volatility"),
        sharpe=num("sharpe"),
        sortino=num("sortino"),
        max_drawdown_pct=num("max_drawdown_pct"),
        max_drawdown_duration=timedelta(days=num("max_drawdown_duration_days")),
        win_rate=num("win_rate"),
        profit_factor=num("profit_factor"),
        n_trades=int(d["n_trades"]),
        exposure=num("exposure"),
        turnover=num("turnover"),
        periods_per_year=int(d["periods_per_year"]),
        n_periods=int(d["n_periods"]),
    )


def prepare(strategy: str, symbols: list[str], start: date, end: date, options: TrainingOptions) -> TrialData:
    """Bars (stored, else synthetic), the dataset and its walk-forward folds."""
    bars = load_bars(
        strategy, symbols, start, end, options.data_dir, seed=options.seed, edge_enabled=options.edge_enabled
    )
    dataset = build_dataset(bars, strategy, options.label)
    sessions = dataset["session"].unique().sort().to_list()
    folds = walk_forward_folds(
        sessions,
        options.folds,
        options.train_sessions,
        options.test_sessions,
        embargo=options.embargo_sessions,
    )
    # Day-level folds: an embargo of whole calendar days after each test block.
    embargo = timedelta(days=options.embargo_sessions)
    return TrialData(strategy, dataset, tuple(folds), embargo, options.backtest)


def train_and_promote(
    strategy: str,
    symbols: list[str],
    start: date,
    end: date,
    options: TrainingOptions,
    registry: ModelRegistry,
    console: Console | None = None,
) -> TrainingOutcome:
    """Tune, gate, register and (if every gate passes) promote a model for ``strategy``."""
    data = prepare(strategy, symbols, start, end, options)
    grid = run_tuner(data, options.tune)
    trials = _trials(grid)
    candidates = [t for t in trials if t.oos is not None and t.error is None]
    best = max(candidates, key=lambda t: t.sharpe) if candidates else None
    baseline = rules_only(data).metrics.sharpe if options.baseline else None
    report: GateReport | None = None
    version: ModelVersion | None = None
    promoted = False
    if best is not None and best.oos is not None:
        metrics = _metrics(best.oos["oos_metrics"])
        sharpes = [t.sharpe for t in trials if t.error is None]
        variance = per_period_sharpe_variance(sharpes, metrics.periods_per_year)
        report = evaluate_gates(metrics, len(trials), variance, best.oos["oos_returns"], options.gates)
        version = _register(registry, data, best, report, options)
        if report.passed:
            registry.promote(strategy, version.version)
            promoted = True
    outcome = TrainingOutcome(
        strategy, tuple(trials), best, report, baseline, version, promoted, options.tune.path
    )
    print_summary(outcome, console or Console())
    return outcome


def _register(
    registry: ModelRegistry, data: TrialData, best: TrialSummary, report: GateReport, options: TrainingOptions
) -> ModelVersion:
    params = ModelParams.from_config(best.config, seed=options.seed, num_threads=options.final_threads)
    model = ScoreModel.train(data.dataset, data.features, feature_set_of(data.strategy), params)
    ts = data.dataset["ts"]
    assert best.oos is not None
    lineage = {
        "model": model.metadata()["params"],
        "strategy": {k: best.config[k] for k in STRATEGY_KEYS if k in best.config},
        "label": _slots(options.label),
        "folds": [_fold_dict(f) for f in data.folds],
        "symbols": sorted(data.dataset["symbol"].unique().to_list()),
        "n_trials": report.deflated.n_trials,
        "objective": "binary: P(close rises over the label horizon)",
    }
    metrics = {**best.oos["oos_metrics"], "trial_id": best.trial_id}
    return registry.register(
        data.strategy,
        model.to_bytes(),
        metrics=metrics,
        features=list(model.features),
        feature_hash=model.feature_hash,
        data_window=(_dt(ts.min()), _dt(ts.max())),
        params=lineage,
        code_version=code_version(),
        gate_report=report.to_dict(),
    )


def _slots(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _fold_dict(fold: Any) -> dict[str, str | int]:
    return {
        "index": fold.index,
        "train": f"{fold.train_start}..{fold.train_end}",
        "test": f"{fold.test_start}..{fold.test_end}",
    }


def _dt(value: Any) -> datetime:
    assert isinstance(value, datetime)
    return value


def print_summary(outcome: TrainingOutcome, console: Console) -> None:
    """Trials, the best one's out-of-sample metrics and every gate, as tables."""
    table = Table(title=f"{outcome.strategy}: {outcome.n_trials} trials")
    for col in ("trial", "folds", "sharpe", "thr", "leaves", "lr", "status"):
        table.add_column(col, justify="right" if col != "trial" else "left")
    for t in outcome.trials:
        status = "error" if t.error else ("best" if t is outcome.best else ("done" if t.oos else "stopped"))
        table.add_row(
            t.trial_id[-12:],
            str(t.folds_run),
            f"{t.sharpe:.2f}",
            f"{t.config.get('score_threshold', math.nan):.3f}",
            str(t.config.get("num_leaves", "")),
            f"{t.config.get('learning_rate', math.nan):.3f}",
            status,
        )
    console.print(table)
    if outcome.gate_report is None:
        console.print("[red]no trial completed: nothing registered[/red]")
        return
    gates = Table(title="promotion gates (pooled out-of-sample)")
    for col in ("gate", "value", "op", "threshold", "pass"):
        gates.add_column(col)
    for g in outcome.gate_report.gates:
        gates.add_row(
            g.name, f"{g.value:.4g}", g.op, f"{g.threshold:.4g}", "yes" if g.passed else "[red]no[/red]"
        )
    console.print(gates)
    baseline = "n/a" if outcome.rules_only_sharpe is None else f"{outcome.rules_only_sharpe:.2f}"
    version = outcome.version.version if outcome.version else "-"
    verdict = "promoted" if outcome.promoted else "registered, not promoted"
    console.print(f"OOS Sharpe {outcome.oos_sharpe:.2f} (rules only {baseline}); {version} {verdict}")
