"""``raydesk train``: tune, gate, register and promote a strategy's model on Ray.

Runs the same locally and as ``ray job submit --working-dir . -- raydesk train ...``: inside a
job (or with ``RAY_ADDRESS`` set) it joins that cluster, otherwise it starts a local Ray.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cluster.cli.data_cmd import DataDirOption
from core.clock import LiveClock
from training.backtest import BacktestConfig
from training.dataset import FEATURE_SETS
from training.pipeline import TrainingOptions, train_and_promote
from training.registry import ModelRegistry
from training.tuner import TuneOptions, tune_environment

__all__ = ["connect_ray", "train"]

_DATE = ["%Y-%m-%d"]


def connect_ray(num_cpus: int | None = None) -> str:
    """Join the cluster of ``RAY_ADDRESS`` (set inside a Ray job), else start a local Ray."""
    tune_environment()
    import ray

    if ray.is_initialized():
        return "existing"
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address="auto", log_to_driver=False)
        return "cluster"
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return "local"


def train(
    strategy: Annotated[str, typer.Option("--strategy", help=f"One of: {', '.join(sorted(FEATURE_SETS))}.")],
    symbols: Annotated[str, typer.Option("--symbols", "-s", help="Comma-separated tickers.")],
    start: Annotated[datetime, typer.Option(formats=_DATE, help="First day (inclusive).")],
    end: Annotated[datetime, typer.Option(formats=_DATE, help="Last day (inclusive).")],
    num_samples: Annotated[int | None, typer.Option(min=1, help="Trials (default: settings).")] = None,
    registry: Annotated[Path, typer.Option("--registry", help="Model registry root.")] = Path("var/models"),
    data_dir: DataDirOption = None,
    folds: Annotated[int | None, typer.Option(min=1, help="Walk-forward folds (default: settings).")] = None,
    train_sessions: Annotated[int, typer.Option(min=1, help="Sessions per training window.")] = 20,
    test_sessions: Annotated[int, typer.Option(min=1, help="Sessions per test fold.")] = 8,
    slippage: Annotated[float, typer.Option(min=0.0, max=0.099, help="Slippage per fill, fraction.")] = 1e-4,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market, LightGBM and the search.")] = 7,
    edge: Annotated[
        bool, typer.Option("--edge/--no-edge", help="Synthetic market edges (if generated).")
    ] = True,
    tune_dir: Annotated[Path, typer.Option(help="Where Tune keeps the run (for resuming).")] = Path(
        "var/tune"
    ),
    name: Annotated[str | None, typer.Option(help="Run name (default: strategy_start_end).")] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of a local Ray (default: all).")] = None,
) -> None:
    """Tune a strategy's model walk-forward, check the gates, register it; promote if it passes."""
    if strategy not in FEATURE_SETS:
        raise typer.BadParameter(f"unknown strategy {strategy!r}; known: {', '.join(sorted(FEATURE_SETS))}")
    tickers = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not tickers:
        raise typer.BadParameter("--symbols needs at least one ticker")
    from configs import load_settings

    settings = load_settings()
    first, last = start.date(), end.date()
    run = name or f"{strategy}_{first:%Y%m%d}_{last:%Y%m%d}"
    overrides: dict[str, object] = {"folds": folds} if folds is not None else {}
    if num_samples is not None:
        overrides["num_samples"] = num_samples
    options = TrainingOptions.from_settings(
        settings,
        train_sessions=train_sessions,
        test_sessions=test_sessions,
        backtest=BacktestConfig(slippage=slippage, close_at_end=True),
        tune=TuneOptions(storage_path=tune_dir.resolve(), name=run, seed=seed),
        data_dir=data_dir,
        seed=seed,
        edge_enabled=edge,
        **overrides,
    )
    console = Console()
    where = connect_ray(num_cpus)
    console.print(f"ray: {where}; training {strategy} on {', '.join(tickers)} {first}..{last}")
    outcome = train_and_promote(
        strategy, tickers, first, last, options, ModelRegistry(registry.resolve(), LiveClock()), console
    )
    if outcome.gate_report is None:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    typer.run(train)
