"""The ``raydesk`` command line. Each command group lives in its own module."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:2] == ["tui"]:  # the terminal UI needs none of the other commands: skip loading them
        from cluster.cli.tui_cmd import launch

        launch(sys.argv[2:])
    from cluster.cli.main import app

    app()


def __getattr__(name: str) -> Any:
    # ``app`` is built on first use, so ``raydesk tui`` starts without importing every command.
    if name == "app":
        from cluster.cli.main import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
