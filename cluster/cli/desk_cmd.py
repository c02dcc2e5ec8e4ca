"""``raydesk status`` and ``raydesk stop``: the desk ``raydesk run`` left running (``cluster.desk_host``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from actors import NAMESPACE
from cluster.desk_host import DRIVER_NAME, DeskHost, HostRecord, use_token_auth

__all__ = [
    "STATE_DIR",
    "attach_driver",
    "flatten_all",
    "join_desk",
    "print_status",
    "schedule_app",
    "status",
    "stop",
]

STATE_DIR = Path("var/state")
StateDir = Annotated[Path, typer.Option("--state-dir", help="The desk's state folder.")]


def attach_driver(record: HostRecord) -> Any:
    """Join the desk's own Ray head; the driver actor's handle."""
    from cluster.runtime import connect

    use_token_auth()
    ray = connect(record.address)
    return ray.get_actor(DRIVER_NAME, namespace=NAMESPACE)


def join_desk(state_dir: Path = STATE_DIR) -> bool:
    """Join the Ray head of the desk ``raydesk run`` started, if it runs (overrides then reach its
    actors, never another cluster's); whether it does."""
    record = DeskHost(state_dir).running()
    if record is None:
        return False
    from cluster.runtime import connect

    use_token_auth()
    connect(record.address)
    return True


def flatten_all(
    all_accounts: Annotated[bool, typer.Option("--all", help="Every account of the desk.")] = False,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded).")] = "flatten --all",
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Settings profile.")] = None,
    state_dir: StateDir = STATE_DIR,
) -> None:
    """Stop entries everywhere (halt), then flatten every account, then report each."""
    from cluster.cli.halt_cmd import broadcast
    from configs import load_settings

    console = Console()
    if not all_accounts:
        console.print("flatten needs --all (one account: raydesk accounts flatten ID)")
        raise typer.Exit(2)
    settings = load_settings(profile)
    join_desk(state_dir)
    halted = {d.account_id: d for d in broadcast(settings, "halt", reason)}
    for delivery in broadcast(settings, "flatten", reason):
        halt = halted[delivery.account_id]
        console.print(
            f"{delivery.account_id}: entries stopped ({halt.how}: {escape(halt.detail)}); "
            f"flatten {delivery.how}: {escape(delivery.detail)}"
        )


schedule_app = typer.Typer(help="Pause or resume one scheduled task (or group) of the running desk.")


def _scheduler(state_dir: Path) -> Any:
    from actors import SCHEDULER_NAME

    if not join_desk(state_dir):
        Console(stderr=True).print("no desk running (raydesk run starts one)")
        raise typer.Exit(1)
    import ray

    return ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE)


@schedule_app.command("pause")
def pause_task(
    task: Annotated[str, typer.Argument(help="A task (pre_market.universe) or a group (pre_market).")],
    by: Annotated[str, typer.Option("--by", help="Who pauses it (recorded).")],
    why: Annotated[str, typer.Option("--why", help="Why (recorded in each skipped run).")],
    state_dir: StateDir = STATE_DIR,
) -> None:
    """Skip the task's runs (each recorded as skipped with who and why) until it is resumed."""
    import ray

    try:
        paused = ray.get(_scheduler(state_dir).pause.remote(task, f"{why} (by {by})"), timeout=30)
    except ray.exceptions.RayTaskError as exc:
        Console(stderr=True).print(f"[red]{escape(str(exc.cause))}[/red]")
        raise typer.Exit(1) from None
    Console().print(f"paused: {escape(json.dumps(paused))}")


@schedule_app.command("resume")
def resume_task(
    task: Annotated[str, typer.Argument(help="The paused task or group.")],
    state_dir: StateDir = STATE_DIR,
) -> None:
    """Run a paused task again from its next occurrence."""
    import ray

    paused = ray.get(_scheduler(state_dir).resume.remote(task), timeout=30)
    Console().print(f"paused: {escape(json.dumps(paused))}")


def print_status(console: Console, found: dict[str, Any]) -> None:
    for actor in found["actors"]:
        mark = "[green]alive[/green]" if actor["alive"] else f"[red]{escape(actor['detail'])}[/red]"
        console.print(f"actor {actor['name']}: {mark}")
    for account in found["accounts"]:
        scoring = found["scoring"].get(account, {})
        console.print(f"account {account}: scoring {escape(json.dumps(scoring, default=str))}")
    console.print(f"scorer: {found['scorer'] or 'none (rules only)'}")
    for task in found["next_tasks"]:
        console.print(f"next: {task}")
    for restart in found["restarts"]:
        console.print(f"restarted: {restart['actor']} at {restart['at']}")


def status(state_dir: StateDir = STATE_DIR) -> None:
    """Every actor, account, model and scoring state of the running desk, and the next tasks."""
    console = Console()
    record = DeskHost(state_dir).running()
    if record is None:
        console.print("no desk running (raydesk run starts one)")
        raise typer.Exit(1)
    import ray

    found = ray.get(attach_driver(record).status.remote(), timeout=60)
    console.print(f"desk at {record.address}")
    print_status(console, found)


def stop(state_dir: StateDir = STATE_DIR) -> None:
    """Stop the desk: its actors (entries end with them), its Redis, its Ray head."""
    console = Console()
    host = DeskHost(state_dir)
    record = host.record()
    if record is None:
        console.print("no desk running")
        return
    import ray

    if host.running() is not None:
        try:
            for note in ray.get(attach_driver(record).stop.remote(), timeout=120):
                console.print(note)
        except (ValueError, ray.exceptions.RayError) as exc:
            console.print(f"[yellow]driver unavailable ({type(exc).__name__}): ending its processes[/yellow]")
        ray.shutdown()
    ended = host.stop_processes(record)
    console.print(f"desk stopped ({len(ended)} processes ended)")
