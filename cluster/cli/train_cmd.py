"""``raydesk train``: tune, gate, register and promote a strategy's model on Ray.

Bars come from the configured bar store (``--data-dir``, else settings ``data.data_dir``);
``--synthetic`` trains on the generated market instead, and says so. Without ``--symbols``,
``--start`` or ``--end`` the store's symbols and window at the strategy's timeframe are used
(minute bars: the last 60 stored sessions).

Runs the same locally and as ``ray job submit --working-dir . -- raydesk train ...``: inside a
job (or with ``RAY_ADDRESS`` set) it joins that cluster, otherwise it starts a local Ray.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from adapters.store import BarStore
from cluster import promotion
from cluster.cli.data_cmd import DataDirOption, default_data_dir
from core.calendar import MarketCalendar
from core.clock import LiveClock
from core.errors import DataError
from training.backtest import BacktestConfig
from training.dataset import FEATURE_SETS, timeframe_of
from training.pipeline import TrainingOptions, train_and_promote
from training.registry import ModelRegistry
from training.tuner import TuneInterrupted, TuneOptions, tune_environment

__all__ = ["connect_ray", "store_defaults", "train"]

_DATE = ["%Y-%m-%d"]
INTRADAY_DEFAULT_SESSIONS = 60


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


def store_defaults(root: Path, strategy: str) -> tuple[list[str], date, date]:
    """The store's symbols and window at ``strategy``'s timeframe (``DataError`` if it holds none)."""
    timeframe = timeframe_of(strategy)
    parts = [p for p in BarStore(root).info([timeframe]) if p.first is not None and p.last is not None]
    if not parts:
        raise DataError(
            f"the store {root} holds no {timeframe} bars: run `raydesk data import` or "
            "`raydesk data generate`, or train with --synthetic"
        )
    symbols = sorted({p.symbol for p in parts})
    first = min(p.first for p in parts if p.first is not None).date()
    last = max(p.last for p in parts if p.last is not None).date()
    if timeframe == "1m":
        days = MarketCalendar().sessions(first, last)
        first = days[-min(INTRADAY_DEFAULT_SESSIONS, len(days))]
    return symbols, first, last


def train(
    strategy: Annotated[
        str, typer.Option("--strategy", help=f"One of: {', '.join(sorted(FEATURE_SETS))}.")
    ] = "swing_trend_following",
    symbols: Annotated[
        str | None, typer.Option("--symbols", "-s", help="Comma-separated tickers (default: the store's).")
    ] = None,
    start: Annotated[
        datetime | None, typer.Option(formats=_DATE, help="First day (default: the store's).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=_DATE, help="Last day (default: the store's).")
    ] = None,
    num_samples: Annotated[int | None, typer.Option(min=1, help="Trials (default: settings).")] = None,
    registry: Annotated[Path, typer.Option("--registry", help="Model registry root.")] = Path("var/models"),
    data_dir: DataDirOption = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Train on the generated synthetic market, not the store.")
    ] = False,
    folds: Annotated[
        int | None, typer.Option(min=1, help="Walk-forward folds (default: per timeframe).")
    ] = None,
    train_sessions: Annotated[
        int | None, typer.Option(min=1, help="Sessions per training window (default: per timeframe).")
    ] = None,
    test_sessions: Annotated[
        int | None, typer.Option(min=1, help="Sessions per test fold (default: per timeframe).")
    ] = None,
    slippage: Annotated[float, typer.Option(min=0.0, max=0.099, help="Slippage per fill, fraction.")] = 1e-4,
    seed: Annotated[int, typer.Option(help="Seed of LightGBM, the search and (--synthetic) the market.")] = 7,
    edge: Annotated[
        bool, typer.Option("--edge/--no-edge", help="Planted edges of the --synthetic market.")
    ] = True,
    tune_dir: Annotated[Path, typer.Option(help="Where Tune keeps the run (for resuming).")] = Path(
        "var/tune"
    ),
    name: Annotated[str | None, typer.Option(help="Run name (default: strategy_start_end).")] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of a local Ray (default: all).")] = None,
    per_symbol: Annotated[
        bool,
        typer.Option(
            "--per-symbol", help="Also train one model per symbol; promote it where it beats the pooled one."
        ),
    ] = False,
) -> None:
    """Tune a strategy's model walk-forward, check the gates, register it; promote if it passes."""
    console = Console(soft_wrap=True)
    if strategy not in FEATURE_SETS:
        raise typer.BadParameter(f"unknown strategy {strategy!r}; known: {', '.join(sorted(FEATURE_SETS))}")
    from configs import load_settings

    settings = load_settings()
    root = data_dir or default_data_dir()
    tickers = [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    try:
        if synthetic:
            first = start.date() if start else settings.data.start
            last = end.date() if end else settings.data.end
            tickers = tickers or list(settings.data.symbols)
        else:
            stored, lo, hi = store_defaults(root, strategy)
            tickers = tickers or stored
            first, last = (start.date() if start else lo), (end.date() if end else hi)
    except DataError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(code=1) from None
    run = name or f"{strategy}_{first:%Y%m%d}_{last:%Y%m%d}"
    overrides: dict[str, object] = {}
    if num_samples is not None:
        overrides["num_samples"] = num_samples
    options = TrainingOptions.from_settings(
        settings,
        folds=folds,
        train_sessions=train_sessions,
        test_sessions=test_sessions,
        backtest=BacktestConfig(slippage=slippage, close_at_end=True),
        tune=TuneOptions(storage_path=tune_dir.resolve(), name=run, seed=seed, per_symbol=per_symbol),
        data_dir=None if synthetic else root,
        synthetic=synthetic,
        seed=seed,
        edge_enabled=edge,
        **overrides,
    )
    where = connect_ray(num_cpus)
    console.print(f"ray: {where}; training {strategy} on {', '.join(tickers)} {first}..{last}")

    def promote(models: ModelRegistry, name: str, version: str) -> None:
        _, served = promotion.promote(models, name, version)
        console.print(f"served: {served.line()}")

    try:
        outcome = train_and_promote(
            strategy,
            tickers,
            first,
            last,
            options,
            ModelRegistry(registry.resolve(), LiveClock()),
            console,
            promote=promote,
        )
    except (DataError, TuneInterrupted) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(code=1) from None
    if outcome.gate_report is None:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    typer.run(train)
