"""``raydesk backup`` and ``raydesk restore``: the ledger (online, while the desk writes) and the
model registry index, with retention; restore refuses while a desk has the ledger open."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.ledger.backup import backup as take_backup
from adapters.ledger.backup import list_backups
from adapters.ledger.backup import restore as restore_backup
from cluster.cli.errors import exit_on_error
from configs import load_settings
from core.clock import LiveClock
from core.errors import ConfigError

__all__ = ["backup", "restore"]


def backup(
    dest: Annotated[
        Path, typer.Option("--dest", help="Backup directory (one dated folder per backup).")
    ] = Path("./var/backups"),
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="SQLite ledger (default: ledger.path).")
    ] = None,
    registry: Annotated[
        Path | None, typer.Option("--registry", help="Model registry root (default: ./models).")
    ] = None,
    keep: Annotated[int, typer.Option("--keep", help="Backups to keep (older ones are deleted).")] = 14,
) -> None:
    """Back up the ledger with SQLite's online backup API, and the registry index."""
    with exit_on_error():
        settings = load_settings()
        if settings.ledger.url is not None:
            raise ConfigError("ledger.url: a PostgreSQL ledger is backed up with pg_dump, not raydesk backup")
        made = take_backup(
            ledger or Path(settings.ledger.path),
            dest,
            LiveClock().now(),
            registry_root=registry if registry is not None else Path("models"),
            keep=keep,
        )
    typer.echo(f"backup {made.path}: {len(made.files)} files; {len(list_backups(dest))} kept in {dest}")


def restore(
    source: Annotated[Path, typer.Argument(help="A backup folder (e.g. var/backups/20240304-170000).")],
    to: Annotated[Path, typer.Option("--to", help="A fresh directory to restore into.")],
) -> None:
    """Restore a backup into a fresh directory; refuses while a desk has the ledger open."""
    with exit_on_error():
        restored = restore_backup(source, to, desk_ledger=Path(load_settings().ledger.path))
    typer.echo(f"restored {restored} (integrity check passed)")
