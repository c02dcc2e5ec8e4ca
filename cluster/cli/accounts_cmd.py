"""``raydesk accounts``: list the accounts and override one (pause, resume, flatten, delete).

Commands reach the running account actor (``account:<id>`` in the ``raydesk`` namespace); with
no cluster running they are queued in the Redis command inbox and recorded in the ledger, and
the account applies them at its next cycle.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actors.overrides import Delivery, command, running_actor, send
from cluster.cli.desk_cmd import join_desk
from configs import Settings, load_settings
from core.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(
    help="List accounts and override them (pause, resume, flatten, delete).", no_args_is_help=True
)

ProfileOption = Annotated[str | None, typer.Option("--profile", "-p", help="Settings profile.")]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (recorded with the override).")]


def _settings(profile: str | None) -> Settings:
    try:
        return load_settings(profile)
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


def _report(delivery: Delivery) -> None:
    colour = "green" if delivery.how == "applied" else "yellow"
    Console().print(f"[{colour}]{delivery.account_id}: {delivery.how}[/{colour}] {escape(delivery.detail)}")


def _override(
    profile: str | None, account_id: str, name: str, reason: str, by: str | None = None, **extra: str
) -> Delivery:
    settings = _settings(profile)
    join_desk()
    try:
        delivery = send(settings, account_id, command(name, by or getpass.getuser(), reason, **extra))
    except KeyError:
        Console(stderr=True).print(f"[red]no account {escape(account_id)!r} in the settings[/red]")
        raise typer.Exit(1) from None
    _report(delivery)
    return delivery


@app.command("list")
def list_accounts(profile: ProfileOption = None) -> None:
    """The configured accounts and whether their actor is running."""
    settings = _settings(profile)
    join_desk()
    table = Table(title=f"accounts ({settings.profile})")
    for column in ("id", "broker", "mode", "strategies", "actor", "state"):
        table.add_column(column)
    for account in settings.accounts:
        handle = running_actor(account.id)
        state = "-"
        if handle is not None:
            import ray

            try:
                health = ray.get(handle.health.remote(), timeout=5)
                state = f"events {health.events}, last {health.last_event_at or '-'}"
            except ray.exceptions.RayError as exc:
                state = type(exc).__name__
        table.add_row(
            account.id,
            account.broker,
            account.mode,
            ", ".join(account.strategies),
            "running" if handle is not None else "not running",
            state,
        )
    Console().print(table)


@app.command()
def pause(account_id: str, reason: ReasonOption = "", profile: ProfileOption = None) -> None:
    """Stop new entries (exits and monitoring go on)."""
    _override(profile, account_id, "pause", reason)


@app.command()
def resume(account_id: str, reason: ReasonOption = "", profile: ProfileOption = None) -> None:
    """Allow new entries again."""
    _override(profile, account_id, "resume", reason)


@app.command()
def flatten(account_id: str, reason: ReasonOption = "manual", profile: ProfileOption = None) -> None:
    """Cancel entry orders and close every position at market, now."""
    _override(profile, account_id, "flatten", reason)


@app.command()
def acknowledge(
    account_id: str,
    by: Annotated[str, typer.Option("--by", help="Who acknowledges (recorded).")],
    why: Annotated[str, typer.Option("--why", help="Why the discrepancies are resolved (recorded).")],
    profile: ProfileOption = None,
) -> None:
    """Acknowledge the account's open reconciliation discrepancies: its entries resume."""
    _override(profile, account_id, "acknowledge", why, by=by)


@app.command()
def delete(
    account_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: close out and purge the account.")] = False,
    reason: ReasonOption = "",
    profile: ProfileOption = None,
) -> None:
    """Close out the account and purge its ledger rows (needs --yes)."""
    if not yes:
        Console(stderr=True).print("[red]refusing to delete without --yes[/red]")
        raise typer.Exit(1)
    _override(profile, account_id, "delete", reason, confirm=account_id)
