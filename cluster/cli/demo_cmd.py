"""``raydesk demo``: the main job on the embedded default.

Today it does what exists: it generates the deterministic synthetic market into the parquet
store, shows the market calendar around it and summarises the data. Training, serving and the
trading session are added as those parts land, and the command says which steps ran.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.store import BarStore
from cluster.cli.data_cmd import _settings, synthetic_config, write_synthetic
from core.calendar import NEW_YORK, MarketCalendar

PENDING_STEPS = (
    "train and promote models with Ray Tune",
    "serve the promoted models with Ray Serve",
    "trade a simulated session with the account actors",
)


def demo(
    symbols: Annotated[
        str, typer.Option("--symbols", "-s", help="Comma-separated tickers, or a count.")
    ] = "20",
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First session (default: settings).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last session (default: settings).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic market.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", "-d", help="Store root.")] = None,
) -> None:
    """Run the main job on the embedded default (nothing outside this machine is called)."""
    console = Console()
    settings = _settings()
    config = synthetic_config(
        settings, symbols, start.date() if start else None, end.date() if end else None, seed
    )
    root = data_dir or (Path(settings.data.data_dir) if settings is not None else Path("var/data"))
    store = BarStore(root)
    console.rule("[bold]1. synthetic market")
    write_synthetic(config, store, console)

    console.rule("[bold]2. market calendar")
    calendar = MarketCalendar()
    sessions = calendar.sessions(config.start, config.end)
    early = calendar.early_closes(config.start, config.end)
    holidays = calendar.holidays(config.start, config.end)
    console.print(
        f"{len(sessions)} XNYS sessions from {sessions[0]} to {sessions[-1]}; "
        f"{len(early)} early closes ({', '.join(map(str, early)) or '-'}); "
        f"{len(holidays)} weekday holidays"
    )
    last_open, last_close = calendar.session_open_close(sessions[-1])
    console.print(
        f"last session {sessions[-1]}: {last_open.astimezone(NEW_YORK):%H:%M}-"
        f"{last_close.astimezone(NEW_YORK):%H:%M} America/New_York"
    )

    console.rule("[bold]3. data summary")
    daily = store.read("1d", list(config.symbols))
    table = Table(title=f"daily bars in {root}")
    for name in ("symbol", "sessions", "first close", "last close", "return", "min", "max"):
        table.add_column(name, justify="left" if name == "symbol" else "right")
    for symbol in config.symbols:
        rows = daily.filter(daily["symbol"] == symbol).sort("ts")
        if rows.is_empty():
            continue
        first, last = float(rows["close"][0]), float(rows["close"][-1])
        table.add_row(
            symbol,
            str(rows.height),
            f"{first:.2f}",
            f"{last:.2f}",
            f"{last / first - 1:+.1%}",
            f"{float(rows['low'].min()):.2f}",  # type: ignore[arg-type]
            f"{float(rows['high'].max()):.2f}",  # type: ignore[arg-type]
        )
    console.print(table)
    next_days = calendar.sessions(sessions[-1] + timedelta(days=1), sessions[-1] + timedelta(days=10))
    console.print(f"next sessions after the data: {', '.join(map(str, next_days[:5]))}")

    console.rule("[bold]not yet in this release")
    for step in PENDING_STEPS:
        console.print(f"[yellow]- {step}[/yellow] (arrives with its issue; see CHANGELOG.md)")
    console.print(
        f"[green]done.[/green] bars are in {root} (partitioned parquet, read with polars or DuckDB)"
    )
