"""``FileCursor``: an account's stream positions (``core.trading.cursor.Cursor``) in a JSON file.

Saved whole with ``atomic_write``: a killed process leaves the previous positions or the new
ones. Not fsynced: a power cut may replay the last events, which the event ``seq``, the
``ClientOrderId`` and idempotent snapshots make harmless; a fsync per bar would cost more
than the whole cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

from adapters.files import atomic_write
from core.trading.cursor import Cursor


class FileCursor(Cursor):
    """Positions loaded from ``path`` (empty if it does not exist yet)."""

    def __init__(self, path: Path) -> None:
        super().__init__(json.loads(path.read_text()) if path.exists() else {})
        self.path = path

    def save(self) -> None:
        atomic_write(self.path, json.dumps(dict(self)), fsync=False)
