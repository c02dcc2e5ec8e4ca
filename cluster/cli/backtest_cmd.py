"""``raydesk backtest``: run a registered strategy on stored bars, print metrics, write a report."""

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
    strategy: Annotated[str, typer.Option("--strategy", help=f"One of: {', '.join(sorted(STRATEGIES))}.")],
    symbols: Annotated[str, typer.Option("--symbols", "-s", help="Comma-separated tickers.")],
    start: Annotated[datetime, typer.Option(formats=_DATE, help="First day (inclusive).")],
    end: Annotated[datetime, typer.Option(formats=_DATE, help="Last day (inclusive).")],
    bankroll: Annotated[float, typer.Option(min=1.0, help="Starting cash.")] = 20_000.0,
    max_positions: Annotated[int, typer.Option(min=1, help="Open positions at most.")] = 5,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar size to read.")] = "1d",
    commission: Annotated[float, typer.Option(min=0.0, max=0.1, help="Commission per fill, fraction.")] = 0.0,
    slippage: Annotated[float, typer.Option(min=0.0, max=0.099, help="Slippage per fill, fraction.")] = 0.0,
    report_dir: Annotated[Path, typer.Option(help="Where the report directory goes.")] = Path("var/reports"),
    data_dir: DataDirOption = None,
) -> None:
    """Backtest a strategy on stored bars: metrics table, equity/drawdown PNG, HTML summary."""
    if strategy not in STRATEGIES:
        raise _fail(f"unknown strategy {strategy!r}; known: {', '.join(sorted(STRATEGIES))}", 2)
    tickers = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not tickers:
        raise _fail("--symbols needs at least one ticker", 2)
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
