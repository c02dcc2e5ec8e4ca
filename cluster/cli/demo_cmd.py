"""``raydesk demo``: the main job on the embedded default (see ``cluster/demo.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cluster.cli.data_cmd import _fail, _settings
from cluster.synthetic import parse_symbols
from core.errors import ConfigError, DataError


def demo(
    symbols: Annotated[
        str, typer.Option("--symbols", "-s", help="Comma-separated tickers, or a count (default 20).")
    ] = "20",
    session: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The session to replay (default: 2025-12-31)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the market, the models and the search.")] = 7,
    accounts: Annotated[
        str, typer.Option(help="Comma-separated accounts of the settings to run.")
    ] = "intraday,swing,options",
    num_samples: Annotated[int, typer.Option(min=1, help="Tune trials per strategy.")] = 4,
    root: Annotated[Path, typer.Option(help="Where the demo writes everything.")] = Path("var/demo"),
    venue: Annotated[
        str,
        typer.Option(
            help="Where the accounts trade: sim (the simulated exchange's own clients) or a broker "
            "simulator serving it over the broker's wire protocol: alpaca-sim, tastytrade-sim, ibkr-sim."
        ),
    ] = "sim",
) -> None:
    """Generate the market, train and promote with Tune, serve, trade a session, report.

    Everything runs on this machine: a local Ray, an embedded Redis, a SQLite ledger and the
    simulated exchange; no broker, data vendor or model hub is called.
    """
    from cluster.demo import plan_demo
    from cluster.demo_steps import run_demo

    console = Console()
    try:
        from cluster.supervisor import check_simulator

        check_simulator(venue)  # before anything runs: one clear line
        base = _settings()
        plan = plan_demo(
            root,
            parse_symbols(symbols),
            session.date() if session else None,
            seed=seed,
            accounts=[a.strip() for a in accounts.split(",") if a.strip()],
            num_samples=num_samples,
            venue=venue,
        )
        run_demo(plan, console, base)
    except (ConfigError, DataError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
