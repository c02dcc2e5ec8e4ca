"""``raydesk config``: inspect the effective configuration (secrets redacted)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from configs import load_settings, render
from core.errors import ConfigError

__all__ = ["app", "show"]

app = typer.Typer(
    help="Inspect the effective configuration (profile + file + secrets + environment).",
    no_args_is_help=True,
)


class Format(StrEnum):
    """Output formats of ``config show``."""

    toml = "toml"
    json = "json"


@app.command("show")
def show(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Profile to load: default, paper, live, test (env RAYDESK_PROFILE).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="User config file (TOML) over the profile (env RAYDESK_CONFIG)."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.toml,
    live: Annotated[bool, typer.Option("--live", help="Allow accounts in live mode (real money).")] = False,
) -> None:
    """Print the effective configuration with every secret shown as **********."""
    try:
        settings = load_settings(profile, config_file=config, allow_live=live)
    except ConfigError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(code=2) from None
    # Plain print: the output is meant to be redirected into a file and parsed back.
    typer.echo(render(settings, fmt.value), nl=False)
