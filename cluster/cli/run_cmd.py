"""``raydesk run``: start the desk (or attach to the running one) and return.

The desk runs on its own Ray head with a detached driver actor (``cluster.desk_host``): the
driver brings up the embedded Redis and every named actor through the ``Supervisor``, publishes
the synthetic market minute by minute on the real clock for a desk of simulated accounts
(``cluster.live_feed``), wakes the scheduler at each due task of the configured schedule and
re-creates dead account actors. Nothing depends on this terminal: ``raydesk status`` shows the
desk, ``raydesk stop`` stops it, ``--follow`` streams the driver's events here.

Profile: ``--profile``, else ``RAYDESK_PROFILE``, else ``default`` (simulated accounts only).
Paper is the default mode; ``--live`` is the explicit opt-in that lets live accounts load.
Accounts on brokers without an adapter or credentials fail at start with a message naming the
account, and nothing the start began is left running.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from cluster.cli.desk_cmd import STATE_DIR, attach_driver, print_status
from cluster.cli.desk_cmd import stop as stop_desk
from cluster.desk_host import DRIVER_NAME, DeskHost, HostRecord, driver_class
from cluster.live_feed import synthetic_through
from configs import Settings, load_settings
from core.calendar import to_new_york
from core.clock import LiveClock
from core.errors import ConfigError

__all__ = ["run"]

AHEAD = timedelta(days=10)
"""The synthetic market is generated this far past today, so a desk left running keeps its data
(bars are only published once the clock passes them)."""
_UP_TIMEOUT_S = 300


def _simulated(settings: Settings, ids: list[str]) -> list[str]:
    """Those of ``ids`` that are configured accounts on the simulated exchange."""
    brokers = {a.id: a.broker for a in settings.accounts}
    return [a for a in ids if brokers.get(a) == "sim"]


def run(
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Settings profile (default: RAYDESK_PROFILE, else default)."),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Allow live-money accounts (explicit opt-in).")
    ] = False,
    accounts: Annotated[
        str | None, typer.Option("--accounts", "-a", help="Comma-separated account ids (default: all).")
    ] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="Venue state and feed cursors.")] = STATE_DIR,
    follow: Annotated[bool, typer.Option("--follow", help="Stream the desk's events until Ctrl-C.")] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the desk (as raydesk stop).")] = False,
) -> None:
    """Start the desk, or attach to the running one, and return (the desk keeps running)."""
    console = Console()
    if stop:
        stop_desk(state_dir)
        return
    host = DeskHost(state_dir)
    record = host.running()
    if record is not None:
        console.print(f"desk already running at {record.address}: attached")
    else:
        try:
            settings = load_settings(profile, allow_live=live)
        except ConfigError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        record = _start(console, host, settings, profile, accounts)
    import ray

    driver = attach_driver(record)
    print_status(console, ray.get(driver.status.remote(), timeout=60))
    if follow:
        _follow(console, driver)


def _start(
    console: Console, host: DeskHost, settings: Settings, profile: str | None, accounts: str | None
) -> HostRecord:
    chosen = [a.strip() for a in accounts.split(",")] if accounts else None
    ids = chosen or [a.id for a in settings.accounts]
    sims = _simulated(settings, ids)
    if len(sims) == len(ids):
        settings = synthetic_through(settings, to_new_york(LiveClock().now()).date() + AHEAD, console)
    record = host.start_head()
    import ray

    try:
        from cluster.runtime import connect

        connect(record.address)
        driver = (
            driver_class()
            .options(name=DRIVER_NAME, lifetime="detached")
            .remote(settings, str(host.state_dir), chosen)
        )
        found = ray.get(driver.up.remote(), timeout=_UP_TIMEOUT_S)
    except Exception as exc:
        ray.shutdown()
        host.stop_processes(record)
        message = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else exc
        console.print(f"[red]desk did not start: {escape(str(message).strip().splitlines()[-1])}[/red]")
        if sims and len(sims) < len(ids):
            console.print(
                f"the simulated accounts alone: raydesk run --profile {profile} --accounts {','.join(sims)}"
            )
        raise typer.Exit(2) from None
    host.save(replace(record, redis_pid=found.get("redis_pid")))
    console.print(f"desk up at {record.address} (state {host.state_dir})")
    return record


def _follow(console: Console, driver: Any) -> None:
    import ray

    seen: set[str] = set()
    try:
        while True:
            for line in ray.get(driver.status.remote(), timeout=60)["events"]:
                if line not in seen:
                    seen.add(line)
                    console.print(escape(line))
            time.sleep(2)
    except KeyboardInterrupt:
        console.print("the desk keeps running (raydesk stop stops it)")
