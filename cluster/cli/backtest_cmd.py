"""``raydesk backtest``: run a registered strategy on stored bars, print metrics, write a report.

``--model STRATEGY[@VERSION]`` backtests a registered model instead (the promoted version
without ``@VERSION``): its strategy parameters and scores over its lineage's bars and window
(or ``--symbols``/``--start``/``--end``), with the promotion gates checked on the result and
the gate report it was promoted on printed beside them.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.store import BarStore
from cluster.cli.data_cmd import DataDirOption, default_data_dir
from core.errors import DataError
from core.strategies import STRATEGIES, make_strategy
from training.backtest import BacktestConfig, RelativeCommission, run_backtest
from training.backtest.report import metrics_rows, write_report

__all__ = ["backtest"]

_DATE = ["%Y-%m-%d"]


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code=code)


def backtest(
    strategy: Annotated[
        str | None, typer.Option("--strategy", help=f"One of: {', '.join(sorted(STRATEGIES))}.")
    ] = None,
    symbols: Annotated[str | None, typer.Option("--symbols", "-s", help="Comma-separated tickers.")] = None,
    start: Annotated[datetime | None, typer.Option(formats=_DATE, help="First day (inclusive).")] = None,
    end: Annotated[datetime | None, typer.Option(formats=_DATE, help="Last day (inclusive).")] = None,
    bankroll: Annotated[float, typer.Option(min=1.0, help="Starting cash.")] = 20_000.0,
    max_positions: Annotated[int, typer.Option(min=1, help="Open positions at most.")] = 5,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar size to read.")] = "1d",
    commission: Annotated[float, typer.Option(min=0.0, max=0.1, help="Commission per fill, fraction.")] = 0.0,
    slippage: Annotated[float, typer.Option(min=0.0, max=0.099, help="Slippage per fill, fraction.")] = 0.0,
    report_dir: Annotated[Path, typer.Option(help="Where the report directory goes.")] = Path("var/reports"),
    data_dir: DataDirOption = None,
    model: Annotated[
        str | None, typer.Option("--model", help="A registered model: STRATEGY or STRATEGY@VERSION.")
    ] = None,
    registry: Annotated[Path, typer.Option("--registry", help="Model registry root.")] = Path("var/models"),
) -> None:
    """Backtest a strategy on stored bars (or a registered model): metrics, equity PNG, HTML summary."""
    if model is not None:
        _backtest_model(model, registry, symbols, start, end, slippage, report_dir, data_dir)
        return
    if strategy not in STRATEGIES:
        raise _fail(f"unknown strategy {strategy!r}; known: {', '.join(sorted(STRATEGIES))}", 2)
    tickers = [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    if not tickers:
        raise _fail("--symbols needs at least one ticker", 2)
    if start is None or end is None:
        raise _fail("--start and --end are needed (or --model)", 2)
    first, last = start.date(), end.date()
    if last < first:
        raise _fail(f"--end {last} is before --start {first}", 2)
    try:
        bars = BarStore(data_dir or default_data_dir()).read(timeframe, tickers, first, last)
    except DataError as exc:
        raise _fail(str(exc)) from None
    missing = sorted(set(tickers) - set(bars["symbol"].unique().to_list()))
    if bars["ts"].n_unique() < 2:
        raise _fail(f"no {timeframe} bars stored for {', '.join(tickers)} between {first} and {last}")
    config = BacktestConfig(
        bankroll=bankroll,
        max_positions=max_positions,
        commission=RelativeCommission(commission),
        slippage=slippage,
        close_at_end=True,
    )
    result = run_backtest(make_strategy(strategy), bars, config)
    console = Console()
    table = Table(title=f"{strategy} on {', '.join(tickers)} ({timeframe}, {first} to {last})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in metrics_rows(result):
        table.add_row(label, value)
    console.print(table)
    if missing:
        console.print(f"[yellow]no bars for: {escape(', '.join(missing))}[/yellow]")
    paths = write_report(result, report_dir / _report_name(strategy, first, last))
    console.print(f"report: {paths.html}\nchart: {paths.png}\ntrades: {paths.trades_csv}", soft_wrap=True)


def _report_name(strategy: str, first: date, last: date) -> str:
    return f"backtest_{strategy}_{first:%Y%m%d}_{last:%Y%m%d}"


def _backtest_model(
    spec: str,
    registry_root: Path,
    symbols: str | None,
    start: datetime | None,
    end: datetime | None,
    slippage: float,
    report_dir: Path,
    data_dir: Path | None,
) -> None:
    from configs import load_settings
    from core.clock import LiveClock
    from training.gates import GateConfig
    from training.model_backtest import backtest_model, model_bars
    from training.registry import ModelRegistry, RegistryError

    name, _, version = spec.partition("@")
    registry = ModelRegistry(registry_root.resolve(), LiveClock())
    try:
        chosen = registry.get(name, version) if version else registry.promoted(name)
        if chosen is None:
            raise _fail(f"{name} has no promoted model in {registry.root}; name a version: {name}@v0001")
        tickers = [s.strip().upper() for s in symbols.split(",") if s.strip()] if symbols else None
        bars = model_bars(
            chosen, data_dir, start.date() if start else None, end.date() if end else None, tickers
        )
        gates = GateConfig.from_settings(load_settings().training.gates)
        run = backtest_model(
            chosen,
            registry.load_artifact(chosen),
            bars,
            BacktestConfig(slippage=slippage or 1e-4, close_at_end=True),
            gates,
            since=start.date() if start else None,
        )
    except (RegistryError, DataError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console = Console()
    first, last = (ts.date() for ts in (run.result.metrics.start, run.result.metrics.end))
    where = "IN SAMPLE (overlaps the training window)" if run.in_sample else "out of sample"
    table = Table(title=f"{chosen.strategy} {chosen.version} ({first} to {last}, {where})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in metrics_rows(run.result):
        table.add_row(label, value)
    console.print(table)
    gates_table = Table(title="gates: this backtest vs the promotion evidence (pooled OOS)")
    for col in ("gate", "threshold", "this backtest", "at promotion"):
        gates_table.add_column(col)
    recorded = {g["name"]: g for g in (chosen.gate_report or {}).get("gates", [])}
    for gate in run.gates.gates if run.gates else ():
        before = recorded.get(gate.name)
        then = "-" if before is None or before["value"] is None else f"{before['value']:.4g}"
        now = f"{gate.value:.4g} {'pass' if gate.passed else 'FAIL'}"
        gates_table.add_row(gate.name, f"{gate.op} {gate.threshold:.4g}", now, then)
    console.print(gates_table)
    paths = write_report(run.result, report_dir / f"backtest_{chosen.strategy}_{chosen.version}")
    console.print(f"report: {paths.html}\nchart: {paths.png}\ntrades: {paths.trades_csv}", soft_wrap=True)
