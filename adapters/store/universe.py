"""The last universe refresh as written by the pre-market task (``state_dir/universe.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

__all__ = ["UNIVERSE_FILE", "read_universe_file"]

UNIVERSE_FILE: Final = "universe.json"


def read_universe_file(path: Path) -> tuple[str | None, list[str]] | None:
    """(the session it was built for, its symbols) of the refresh at ``path``; None if none ran."""
    if not path.exists():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    symbols: list[str] = payload["symbols"]
    built_for: str | None = payload.get("for_session")
    return built_for, symbols
