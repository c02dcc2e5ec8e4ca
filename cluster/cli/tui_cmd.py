"""``raydesk tui``: the terminal UI (``tui/``), started as ``python -m tui`` in this process.

The TUI sits above the CLI in the layers, so the command hands over to it instead of importing
it: every argument goes to ``python -m tui`` unchanged (``raydesk tui --help`` lists them).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

__all__ = ["CONTEXT", "launch", "tui"]

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
"""Pass every option through, ``--help`` included."""


def tui(ctx: typer.Context) -> None:
    """Watch the desk and act on it from the terminal (options: raydesk tui --help)."""
    launch(ctx.args)


def launch(args: list[str]) -> NoReturn:
    """Replace this process with ``python -m tui ARGS``."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "tui", *args])
