"""The real client reads the ledger without being able to change it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.ledger import SqliteLedger
from core.model import AccountId
from tui.desk_client import ReadOnlyLedger


def test_the_ledger_is_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with SqliteLedger(path) as ledger:
        ledger.append_event("override", {"cmd": "pause"}, AccountId("alpha"))
    reader = ReadOnlyLedger(path)
    try:
        assert [e.payload["cmd"] for e in reader.events(kind="override")] == ["pause"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.append_event("override", {"cmd": "flatten"}, AccountId("alpha"))
    finally:
        reader.close()
    with pytest.raises(FileNotFoundError):
        ReadOnlyLedger(tmp_path / "missing.sqlite3")
