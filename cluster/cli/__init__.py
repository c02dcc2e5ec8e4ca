"""The ``raydesk`` command line. Each command group lives in its own module."""

from __future__ import annotations

from cluster.cli.main import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
