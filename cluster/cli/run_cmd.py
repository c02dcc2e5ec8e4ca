"""``raydesk run``: the desk on the real clock with the configured brokers.

Paper is the default; ``--live`` is the explicit opt-in that lets live accounts load (and they
still need their credentials). It connects to Ray (a running cluster, else a local one), has
the ``Supervisor`` start the embedded Redis and every named actor, then drives the scheduler
with the real time until interrupted. Accounts on brokers without an adapter yet fail at start
with a message naming the account.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cluster.runtime import connect, dashboard_url
from cluster.supervisor import Supervisor
from configs import load_settings
from core.clock import LiveClock
from core.errors import ConfigError

__all__ = ["run"]

_POLL = timedelta(seconds=30)


def run(
    profile: Annotated[str, typer.Option("--profile", "-p", help="Settings profile.")] = "paper",
    live: Annotated[
        bool, typer.Option("--live", help="Allow live-money accounts (explicit opt-in).")
    ] = False,
    accounts: Annotated[
        str | None, typer.Option("--accounts", "-a", help="Comma-separated account ids (default: all).")
    ] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="Venue state and feed cursors.")] = Path(
        "var/state"
    ),
    address: Annotated[str | None, typer.Option("--address", help="Ray address (default: auto).")] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the desk's actors and exit.")] = False,
) -> None:
    """Run the desk on the real clock until Ctrl-C (actors are detached: they keep running)."""
    console = Console()
    try:
        settings = load_settings(profile, allow_live=live)
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    chosen = [a.strip() for a in accounts.split(",")] if accounts else None
    connect(address, include_dashboard=True)
    if dashboard_url():
        console.print(f"Ray dashboard: {dashboard_url()}")
    supervisor = Supervisor(settings, state_dir, accounts=chosen)
    if stop:
        supervisor.down(stop_redis=False)
        console.print("desk stopped")
        return
    try:
        desk = supervisor.up()
    except ConfigError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    console.print(f"desk up: {', '.join(desk.names())} (Redis {supervisor.redis_url})")
    clock = LiveClock()
    import ray

    try:
        while True:
            for record in ray.get(desk.scheduler.advance_to.remote(clock.now())):
                console.print(
                    f"{record['due']} {record['task']}: {record['status']} {record['detail'] or ''}"
                )
            wake = ray.get(desk.scheduler.next_wake.remote())
            clock.sleep_until(min(wake, clock.now() + _POLL) if wake is not None else clock.now() + _POLL)
    except KeyboardInterrupt:
        console.print("interrupted: the actors keep running (raydesk run --stop stops them)")
