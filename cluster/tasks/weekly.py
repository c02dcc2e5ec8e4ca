"""The weekly refresh (Sunday 22:00 ET): prune old runs and models, backtest the promoted ones."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from cluster.tasks.common import DeskPaths, session_of, trainable_strategies, write_json
from configs import Settings
from core.clock import Clock
from training.backtest import BacktestConfig, simulate
from training.backtest.report import write_report
from training.dataset import build_dataset, load_bars
from training.model import ScoreModel
from training.registry import ModelRegistry, ModelVersion
from training.trainable import make_configured_strategy

__all__ = ["backtest_promoted", "prune_registry", "prune_tune_runs", "weekly_refresh"]


def prune_tune_runs(tune_dir: Path, keep: int) -> list[str]:
    """Delete all but the ``keep`` newest ``nightly_<strategy>_<YYYYMMDD>`` runs per strategy."""
    runs: dict[str, list[Path]] = {}
    for path in tune_dir.glob("nightly_*") if tune_dir.is_dir() else ():
        strategy, _, day = path.name.removeprefix("nightly_").rpartition("_")
        if path.is_dir() and day.isdigit():
            runs.setdefault(strategy, []).append(path)
    removed = []
    for paths in runs.values():
        for path in sorted(paths, key=lambda p: p.name, reverse=True)[keep:]:
            shutil.rmtree(path)
            removed.append(path.name)
    return sorted(removed)


def prune_registry(registry: ModelRegistry, keep: int) -> list[str]:
    """Delete versions that were never promoted and are not among the ``keep`` newest.

    Every version in a promotion history stays (a rollback may return to it). A version leaves
    by one rename into the registry's ``.tmp`` (readers see it whole or not at all).
    """
    removed = []
    for strategy in registry.strategies():
        protected = {e.version for e in registry.history(strategy)}
        protected |= {e.previous for e in registry.history(strategy) if e.previous}
        versions = sorted(registry.list(strategy), key=lambda m: m.number, reverse=True)
        for model in versions[keep:]:
            if model.version in protected:
                continue
            grave = Path(tempfile.mkdtemp(dir=registry.root / ".tmp", prefix="pruned-"))
            model.artifact_path.parent.rename(grave / model.version)
            shutil.rmtree(grave)
            removed.append(f"{strategy} {model.version}")
    return removed


def backtest_promoted(
    settings: Settings, paths: DeskPaths, registry: ModelRegistry, model: ModelVersion, out: Path
) -> str:
    """In-sample backtest of ``model`` over its training window and symbols; report in ``out``."""
    scorer = ScoreModel.from_bytes(registry.load_artifact(model))
    start, end = (session_of(ts) for ts in model.data_window)
    symbols = list(model.params.get("symbols") or settings.data.symbols)
    bars = load_bars(
        model.strategy,
        symbols,
        start,
        end,
        paths.data_dir,
        seed=settings.data.seed,
        edge_enabled=settings.market.edge_enabled,
    )
    dataset = build_dataset(bars, model.strategy)
    frame = dataset.with_columns(pl.Series("score", scorer.predict(dataset)).fill_nan(None))
    strategy = make_configured_strategy(model.strategy, model.params.get("strategy"))
    result = simulate(
        strategy.signals(frame), BacktestConfig(slippage=1e-4, close_at_end=True), strategy.name
    )
    report = write_report(result, out)
    write_json(out / "metrics.json", {"version": model.version, **result.metrics.to_dict()})
    m = result.metrics
    return f"{model.strategy} {model.version}: in-sample Sharpe {m.sharpe:.2f}, {m.n_trades} trades ({report.html.name})"


def weekly_refresh(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    registry: ModelRegistry,
    strategies: Sequence[str] | None = None,
    keep_runs: int = 8,
    keep_versions: int = 5,
) -> str:
    """Prune Tune runs and registry versions, then backtest every promoted model in-sample.

    Reports go to ``reports/weekly/<date>/<strategy>_<version>/`` (``report.html``,
    ``equity.png``, ``trades.csv``, ``metrics.json``). The retraining itself is nightly.
    """
    runs = prune_tune_runs(paths.tune_dir, keep_runs)
    versions = prune_registry(registry, keep_versions)
    out = paths.reports_dir / "weekly" / session_of(clock.now()).isoformat()
    lines = []
    for strategy in strategies if strategies is not None else trainable_strategies(settings):
        model = registry.promoted(strategy)
        if model is None:
            lines.append(f"{strategy}: nothing promoted")
            continue
        lines.append(backtest_promoted(settings, paths, registry, model, out / f"{strategy}_{model.version}"))
    pruned = f"pruned {len(runs)} tune runs, {len(versions)} model versions"
    return "; ".join([pruned, *lines])
