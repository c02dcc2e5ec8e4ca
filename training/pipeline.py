"""``train_and_promote``: bars → dataset → Tune → gates → registry, promoted only if every gate passes.

Choices worth knowing (``docs/training.md`` has the full story):

* bars come from the bar store (``data_dir``) unless ``synthetic=True``; the run says what it
  read and the registry's lineage records it (``BarSource``);
* fold layouts depend on the timeframe (``default_layout``); folds that cannot be trained (too
  few labelled rows, one label class) are skipped with a reason, and a run with none left fails
  with one line (``TrainingDataError``); when the rules alone cannot reach the trade gate on the
  layout's test folds the run says so before tuning;
* tuning is deterministic successive halving (``training.tuner``); the best trial is the one
  with the highest pooled out-of-sample Sharpe among those that ran every fold (lowest index on
  ties);
* the deflated Sharpe's ``n_trials`` is every trial ever run for this strategy on this data
  window, reruns included (``ModelRegistry.count_trials``); its variance is the trials' Sharpe
  variance on one horizon, the first fold every trial ran, rescaled to the pooled horizon;
* the registered model is refit on every labelled row of the window with the best trial's exact
  parameters, LightGBM seed and thread count (one); its lineage lists the fold models (SHA-256)
  that produced the evidence.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.errors import DataError
from training.backtest import BacktestConfig
from training.dataset import (
    BarSource,
    LabelConfig,
    build_dataset,
    feature_set_of,
    read_training_bars,
    timeframe_of,
    warmup_sessions,
)
from training.gates import GateConfig, GateReport, evaluate_gates, per_period_sharpe_variance
from training.metrics import BacktestMetrics
from training.model import ModelParams, ScoreModel
from training.per_symbol import SymbolChoice, choose_per_symbol, symbol_strategy
from training.registry import ModelRegistry, ModelVersion
from training.splits import Fold, split_indices, walk_forward_folds
from training.trainable import SkippedFold, TrialData, rules_only, strategy_params
from training.tuner import TrialSummary, TuneOptions, run_tuner

__all__ = [
    "Layout",
    "TrainingDataError",
    "TrainingOptions",
    "TrainingOutcome",
    "TrialSummary",
    "code_version",
    "default_layout",
    "prepare",
    "train_and_promote",
]

_ROOT = Path(__file__).resolve().parent.parent
MIN_TRAIN_ROWS = 50


class TrainingDataError(DataError):
    """The data cannot be trained on as laid out (the message says why, in one line)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Walk-forward layout in sessions; ``folds=None`` fits as many test blocks as the window holds."""

    folds: int | None
    train_sessions: int
    test_sessions: int
    embargo_sessions: int
    mode: Literal["rolling", "anchored"] = "rolling"


def default_layout(strategy: str) -> Layout:
    """Minute bars: 5 folds of 8 test sessions after 20 train. Daily bars (after the features'
    200-session warm-up): 30-session test blocks, as many as fit, each trained on every session
    before it (anchored, at least 60) with a 1-session embargo (purging already drops the rows
    whose 5-session labels reach into the test block); a 2-year window gives 8 folds, 240 test
    sessions: enough out-of-sample trades for the gates."""
    if timeframe_of(strategy) == "1m":
        return Layout(5, 20, 8, 1)
    return Layout(None, 60, 30, 1, "anchored")


@dataclass(frozen=True)
class TrainingOptions:
    """Fold layout (``None``: the strategy's ``default_layout``), costs, gates, labels, tuning,
    and where bars come from: the store under ``data_dir``, or the synthetic market (``synthetic``)."""

    folds: int | None = None
    train_sessions: int | None = None
    test_sessions: int | None = None
    embargo_sessions: int | None = None
    gates: GateConfig = field(default_factory=GateConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    backtest: BacktestConfig = field(default_factory=lambda: BacktestConfig(slippage=1e-4, close_at_end=True))
    tune: TuneOptions = field(default_factory=TuneOptions)
    data_dir: Path | None = None
    synthetic: bool = False
    seed: int = 7
    edge_enabled: bool = True
    baseline: bool = True

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> TrainingOptions:
        """Gates and ``num_samples`` from ``Settings.training``; its folds and embargo only when
        set explicitly (else the strategy's layout)."""
        t = settings.training
        gates = GateConfig.from_settings(t.gates)
        tune = overrides.pop("tune", TuneOptions())
        tune = replace(tune, num_samples=overrides.pop("num_samples", t.num_samples))
        explicit = t.model_fields_set
        if "folds" in explicit:
            overrides.setdefault("folds", t.folds)
        if "embargo_bars" in explicit:
            overrides.setdefault("embargo_sessions", max(1, math.ceil(t.embargo_bars / 390)))
        return cls(gates=gates, tune=tune, **overrides)

    def layout(self, strategy: str) -> Layout:
        base = default_layout(strategy)
        return Layout(
            self.folds if self.folds is not None else base.folds,
            self.train_sessions or base.train_sessions,
            self.test_sessions or base.test_sessions,
            self.embargo_sessions if self.embargo_sessions is not None else base.embargo_sessions,
            base.mode,
        )


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
    source: BarSource | None = None
    n_trials_counted: int = 0
    skipped: tuple[SkippedFold, ...] = ()
    per_symbol: tuple[SymbolChoice, ...] = ()

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


def prepare(
    strategy: str, symbols: list[str], start: date, end: date, options: TrainingOptions
) -> tuple[TrialData, BarSource]:
    """Bars (the store, or synthetic when asked), the dataset and its trainable walk-forward folds."""
    bars, source = read_training_bars(
        strategy,
        symbols,
        start,
        end,
        options.data_dir,
        synthetic=options.synthetic,
        seed=options.seed,
        edge_enabled=options.edge_enabled,
    )
    dataset = build_dataset(bars, strategy, options.label)
    # Folds start after the features' warm-up: earlier rows have no features to learn from.
    warm = warmup_sessions(strategy)
    sessions = dataset["session"].unique().sort().to_list()[warm:]
    layout = options.layout(strategy)
    n_folds = layout.folds
    if n_folds is None:
        n_folds = max(
            1, (len(sessions) - layout.train_sessions - layout.embargo_sessions) // layout.test_sessions
        )
    try:
        folds = walk_forward_folds(
            sessions,
            n_folds,
            layout.train_sessions,
            layout.test_sessions,
            layout.mode,
            embargo=layout.embargo_sessions,
        )
    except ValueError as exc:
        raise TrainingDataError(f"{source.line()}: after {warm} warm-up sessions, {exc}") from None
    # Day-level folds: an embargo of whole calendar days after each test block.
    embargo = timedelta(days=layout.embargo_sessions)
    usable, skipped = _trainable_folds(dataset, folds, embargo)
    if not usable:
        reasons = "; ".join(f"fold {s.index}: {s.reason}" for s in skipped)
        raise TrainingDataError(f"no fold of {strategy} can be trained ({reasons})")
    backtest = options.backtest
    if source.timeframe == "1d":  # a swing book keeps a slot per symbol
        backtest = replace(backtest, max_positions=max(backtest.max_positions, len(source.symbols)))
    return TrialData(strategy, dataset, tuple(usable), embargo, backtest, tuple(skipped)), source


def _trainable_folds(
    dataset: pl.DataFrame, folds: list[Fold], embargo: timedelta
) -> tuple[list[Fold], list[SkippedFold]]:
    usable, skipped = [], []
    for fold in folds:
        train, test = split_indices(dataset, fold, embargo)
        labels = dataset["label"][train].drop_nulls()
        if labels.len() < MIN_TRAIN_ROWS:
            reason = f"{labels.len()} labelled training rows (need {MIN_TRAIN_ROWS})"
        elif labels.n_unique() < 2:
            reason = f"every training label is {labels[0]} (need both classes)"
        elif test.size == 0:
            reason = "no test rows"
        else:
            usable.append(fold)
            continue
        skipped.append(SkippedFold(fold.index, reason))
    return usable, skipped


def window_key(data: TrialData, source: BarSource) -> str:
    """The data window trials are counted on: timeframe, symbols, first and last session."""
    sessions = data.sessions
    return f"{source.timeframe}:{','.join(source.symbols)}:{sessions[0]}..{sessions[-1]}"


def train_and_promote(
    strategy: str,
    symbols: list[str],
    start: date,
    end: date,
    options: TrainingOptions,
    registry: ModelRegistry,
    console: Console | None = None,
    promote: Callable[[ModelRegistry, str, str], object] | None = None,
) -> TrainingOutcome:
    """Tune, gate, register and (if every gate passes) promote a model for ``strategy``.

    ``promote(registry, strategy, version)`` does the promotion (the desk's one promotion path,
    ``cluster.promotion.promote``, from the CLI); default: ``registry.promote``.
    """
    out = console or Console()
    data, source = prepare(strategy, symbols, start, end, options)
    out.print(escape(source.line()), soft_wrap=True)
    for skip in data.skipped:
        out.print(f"[yellow]fold {skip.index} skipped: {escape(skip.reason)}[/yellow]")
    baseline_result = rules_only(data) if options.baseline or options.gates.min_trades else None
    _layout_check(data, baseline_result, options.gates, out)
    trials = run_tuner(data, options.tune, daily=source.timeframe == "1d", log=out.print)
    counted = registry.count_trials(strategy, window_key(data, source), len(trials))
    candidates = [
        t for t in trials if t.oos is not None and t.error is None and not t.config.get("per_symbol")
    ]
    best = max(candidates, key=lambda t: (_oos_sharpe(t), -t.index)) if candidates else None
    baseline = baseline_result.metrics.sharpe if options.baseline and baseline_result else None
    report: GateReport | None = None
    version: ModelVersion | None = None
    promoted = False
    variance = 0.0
    if best is not None and best.oos is not None:
        metrics = _metrics(best.oos["oos_metrics"])
        variance = _one_horizon_variance(trials, metrics)
        report = evaluate_gates(metrics, counted, variance, best.oos["oos_returns"], options.gates)
        version = _register(registry, data, source, best, report, options)
        if report.passed:
            _promote(registry, strategy, version.version, promote)
            promoted = True
    choices: tuple[SymbolChoice, ...] = ()
    own = [t for t in trials if t.oos is not None and t.error is None and t.config.get("per_symbol")]
    if best is not None and own:
        mine = max(own, key=lambda t: (_oos_sharpe(t), -t.index))

        def register_symbol(
            symbol: str, model: ScoreModel, gates: GateReport, extra: dict[str, Any]
        ) -> ModelVersion:
            return _register_symbol(registry, data, source, symbol, model, gates, extra, options)

        def promote_symbol(name: str, number: str) -> None:
            _promote(registry, name, number, promote)

        choices = tuple(
            choose_per_symbol(
                data, best, mine, counted, variance, options.gates, register_symbol, promote_symbol
            )
        )
    outcome = TrainingOutcome(
        strategy,
        tuple(trials),
        best,
        report,
        baseline,
        version,
        promoted,
        options.tune.path,
        source,
        counted,
        data.skipped,
        choices,
    )
    print_summary(outcome, out)
    return outcome


def _promote(
    registry: ModelRegistry,
    strategy: str,
    version: str,
    promote: Callable[[ModelRegistry, str, str], object] | None,
) -> None:
    if promote is None:
        registry.promote(strategy, version)
    else:
        promote(registry, strategy, version)


def _register_symbol(
    registry: ModelRegistry,
    data: TrialData,
    source: BarSource,
    symbol: str,
    model: ScoreModel,
    report: GateReport,
    extra: dict[str, Any],
    options: TrainingOptions,
) -> ModelVersion:
    ts = data.dataset.filter(pl.col("symbol") == symbol)["ts"]
    metrics = extra.pop("metrics")
    lineage = {
        "base_strategy": data.strategy,
        "model": model.metadata()["params"],
        "strategy": extra.pop("strategy"),
        "label": _slots(options.label),
        "folds": [_fold_dict(f) for f in data.folds],
        "symbols": [symbol],
        "source": source.lineage(),
        "n_trials": report.deflated.n_trials,
        "per_symbol": extra,
    }
    return registry.register(
        symbol_strategy(data.strategy, symbol),
        model.to_bytes(),
        metrics=metrics,
        features=list(model.features),
        feature_hash=model.feature_hash,
        data_window=(_dt(ts.min()), _dt(ts.max())),
        params=lineage,
        code_version=code_version(),
        gate_report=report.to_dict(),
    )


def _layout_check(data: TrialData, rules: Any, gates: GateConfig, console: Console) -> None:
    """Say so when the default rules trade less than the trade gate asks on the test folds: a
    model only filters entries, so only tuned exits (stops, targets) can add trades."""
    if rules is None or rules.metrics.n_trades >= gates.min_trades:
        return
    sessions = data.sessions
    tested = sum(sum(f.test_start <= s <= f.test_end for s in sessions) for f in data.folds)
    console.print(
        f"[yellow]layout cannot reach the trade gate: {len(data.folds)} folds, {tested} test "
        f"sessions over {data.dataset['symbol'].n_unique()} symbols give "
        f"the default rules {rules.metrics.n_trades} out-of-sample trades, the gate needs "
        f"{gates.min_trades} (tuned exits may trade more); use a longer window, more symbols "
        "or more folds[/yellow]"
    )


def _one_horizon_variance(trials: list[TrialSummary], metrics: BacktestMetrics) -> float:
    """Per-period variance of the trials' Sharpe on the first fold (every trial ran it), scaled
    to the pooled horizon (a Sharpe estimate's variance falls as 1/T)."""
    ran = [t for t in trials if t.error is None and t.fold_sharpes]
    first = [t.fold_sharpes[0] for t in ran]
    first_periods = ran[0].fold_periods[0] if ran else 0
    variance = per_period_sharpe_variance(first, metrics.periods_per_year)
    if first_periods and metrics.n_periods:
        variance *= first_periods / metrics.n_periods
    return variance


def _register(
    registry: ModelRegistry,
    data: TrialData,
    source: BarSource,
    best: TrialSummary,
    report: GateReport,
    options: TrainingOptions,
) -> ModelVersion:
    # Exactly the params, seed and thread count (1) the fold models were trained with.
    params = ModelParams.from_config(best.config, num_threads=1)
    model = ScoreModel.train(data.dataset, data.features, feature_set_of(data.strategy), params)
    ts = data.dataset["ts"]
    assert best.oos is not None
    lineage = {
        "model": model.metadata()["params"],
        "strategy": strategy_params(data.strategy, best.config),
        "label": _slots(options.label),
        "folds": [_fold_dict(f) for f in data.folds],
        "skipped_folds": [{"index": s.index, "reason": s.reason} for s in data.skipped],
        "symbols": list(source.symbols),
        "source": source.lineage(),
        "n_trials": report.deflated.n_trials,
        "objective": "binary: P(close rises over the label horizon)",
        "validation": {
            "artifact": "refit on every labelled row of the window with the validated params",
            "refit_rows": int(data.dataset["label"].is_not_null().sum()),
            "trial": best.trial_id,
            "oos_hit_rate": best.oos.get("oos_hit_rate"),
            "fold_models": [
                {**_fold_dict(f), "sha256": sha} for f, sha in zip(data.folds, best.fold_models, strict=False)
            ],
        },
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
    """Trials, the best one's out-of-sample metrics and every gate, as tables; errors one line each."""
    table = Table(
        title=f"{outcome.strategy}: {outcome.n_trials} trials ({outcome.n_trials_counted} counted on this window)"
    )
    for col in ("trial", "folds", "fold-mean sharpe", "oos sharpe", "oos trades", "status", "params"):
        table.add_column(col, justify="left" if col in ("trial", "status", "params") else "right")
    for t in outcome.trials:
        status = "error" if t.error else ("best" if t is outcome.best else ("done" if t.oos else "stopped"))
        trades = str(t.oos["oos_n_trades"]) if t.oos else ""
        params = " ".join(f"{k}={_cell(v)}" for k, v in sorted(t.config.items()) if k not in _HIDDEN)
        oos = f"{_oos_sharpe(t):.2f}" if t.oos else ""
        table.add_row(t.trial_id, str(t.folds_run), f"{t.sharpe:.2f}", oos, trades, status, params)
    console.print(table)
    for error in sorted({t.error for t in outcome.trials if t.error}):
        console.print(f"[red]trial error: {escape(error)}[/red]", soft_wrap=True)
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
    if outcome.per_symbol:
        table = Table(title="per symbol vs pooled (out of sample)")
        for col in ("symbol", "pooled sharpe", "own sharpe", "own gates", "serves", "version"):
            table.add_column(col)
        for c in outcome.per_symbol:
            passed = "-" if c.report is None else ("pass" if c.report.passed else ", ".join(c.report.failed))
            version = c.version.version if c.version else "-"
            table.add_row(
                c.symbol, f"{c.pooled_sharpe:.2f}", f"{c.own_sharpe:.2f}", passed, c.winner, version
            )
        console.print(table)
    baseline = "n/a" if outcome.rules_only_sharpe is None else f"{outcome.rules_only_sharpe:.2f}"
    version = outcome.version.version if outcome.version else "-"
    verdict = "promoted" if outcome.promoted else "registered, not promoted"
    console.print(f"OOS Sharpe {outcome.oos_sharpe:.2f} (rules only {baseline}); {version} {verdict}")


def _oos_sharpe(trial: TrialSummary) -> float:
    return float(trial.oos["oos_sharpe"]) if trial.oos else math.nan


_HIDDEN = frozenset({"seed", "inject_failure"})


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)
