"""``raydesk run``: the desk on the real clock with the configured brokers.

Paper is the default; ``--live`` is the explicit opt-in that lets live accounts load (and they
still need their credentials). It connects to Ray (a running cluster, else a local one), has
the ``Supervisor`` start the embedded Redis and every named actor, then drives the scheduler
and the market data with the real time until interrupted. A desk whose accounts are all
simulated (the default profile, or ``--accounts`` naming simulated ones) trades the synthetic
market that drives the simulated exchange, published minute by minute as the real clock passes
(``cluster.live_feed``). Accounts on
brokers without an adapter yet fail at start with a message naming the account.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cluster.live_feed import LiveFeed, synthetic_through
from cluster.runtime import connect, dashboard_url
from cluster.supervisor import Supervisor
from configs import Settings, load_settings
from core.calendar import to_new_york
from core.clock import LiveClock
from core.errors import ConfigError

__all__ = ["run"]

_POLL = timedelta(seconds=30)
AHEAD = timedelta(days=10)
"""The synthetic market is generated this far past today, so a desk left running keeps its data
(bars are only published once the clock passes them)."""


def _simulated(settings: Settings, ids: list[str]) -> list[str]:
    """Those of ``ids`` that are configured accounts on the simulated exchange."""
    brokers = {a.id: a.broker for a in settings.accounts}
    return [a for a in ids if brokers.get(a) == "sim"]


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
    clock = LiveClock()
    ids = chosen or [a.id for a in settings.accounts]
    sims = _simulated(settings, ids)
    simulated = len(sims) == len(ids)  # an unknown id fails at start, with its own message
    if simulated and not stop:
        settings = synthetic_through(settings, to_new_york(clock.now()).date() + AHEAD, console)
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
        if sims:
            console.print(
                f"the simulated accounts alone: raydesk run --profile {profile} --accounts {','.join(sims)}"
            )
        raise typer.Exit(2) from None
    console.print(f"desk up: {', '.join(desk.names())} (Redis {supervisor.redis_url})")
    feed: LiveFeed | None = None
    if simulated:
        feed = LiveFeed(desk, supervisor.symbols, lambda day: synthetic_through(settings, day, console))
        console.print("market data: the synthetic market, minute by minute on the real clock")
    else:
        console.print(
            "[yellow]market data: none yet: streaming from real brokers needs their adapters[/yellow]"
        )
    import ray

    try:
        while True:
            if feed is not None:
                for step in feed.pump(clock.now()):
                    console.print(f"{step.at.isoformat()} bars: {step.bars} to {len(step.accounts)} accounts")
            for record in ray.get(desk.scheduler.advance_to.remote(clock.now())):
                console.print(
                    f"{record.due.isoformat()} {record.task}: {record.status} {record.detail or ''}"
                )
            wake = ray.get(desk.scheduler.next_wake.remote())
            wakes = [w for w in (wake, None if feed is None else feed.next_due()) if w is not None]
            clock.sleep_until(min([*wakes, clock.now() + _POLL]))
    except KeyboardInterrupt:
        console.print("interrupted: the actors keep running (raydesk run --stop stops them)")
