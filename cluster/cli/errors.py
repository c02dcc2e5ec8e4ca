"""Error handling shared by the ``raydesk`` commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from core.errors import RaydeskError

_err = Console(stderr=True)


@contextmanager
def exit_on_error(code: int = 2, *kinds: type[Exception]) -> Iterator[None]:
    """An error of ``kinds`` (default ``RaydeskError``) becomes a red message and exit ``code``."""
    caught: tuple[type[Exception], ...] = kinds or (RaydeskError,)
    try:
        yield
    except caught as exc:
        _err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(code) from exc
