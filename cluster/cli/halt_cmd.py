"""``raydesk halt`` / ``raydesk resume-all``: the desk-wide kill switch and its release.

``halt`` stops new entries on every configured account and cancels their entry orders;
``resume_all`` lifts halts and pauses. Each account records the override in its ledger.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from actors.overrides import Delivery, command, send
from configs import Settings, load_settings

__all__ = ["broadcast", "halt", "resume_all"]

ProfileOption = Annotated[str | None, typer.Option("--profile", "-p", help="Settings profile.")]


def broadcast(settings: Settings, name: str, reason: str, by: str | None = None) -> list[Delivery]:
    """Send ``name`` to every configured account (running actor, else the inbox)."""
    who = by or getpass.getuser()
    return [send(settings, a.id, command(name, who, reason)) for a in settings.accounts]


def halt(
    reason: Annotated[str, typer.Argument(help="Why the desk is halted (recorded).")],
    profile: ProfileOption = None,
) -> None:
    """Kill switch: no new entries anywhere; entry orders are cancelled."""
    for delivery in broadcast(load_settings(profile), "halt", reason):
        Console().print(f"{delivery.account_id}: {delivery.how} {escape(delivery.detail)}")


def resume_all(
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded).")] = "",
    profile: ProfileOption = None,
) -> None:
    """Lift the kill switch and every pause."""
    for delivery in broadcast(load_settings(profile), "resume_all", reason):
        Console().print(f"{delivery.account_id}: {delivery.how} {escape(delivery.detail)}")
