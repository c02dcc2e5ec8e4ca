"""The scheduled daily backup (17:00 New York, seed 004): the desk handler of kind ``backup``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.ledger import SqliteLedger
from adapters.ledger.integrity import integrity_problems
from cluster.tasks import DeskPaths
from cluster.tasks.handlers import desk_handlers
from configs import Settings
from configs.components import LedgerConfig
from core.clock import SimClock
from core.scheduling import Occurrence, SkipTask
from core.scheduling.defaults import default_schedule
from tests.postgres_server import PostgresServer

NOW = datetime(2025, 11, 24, 22, 0, tzinfo=UTC)  # 17:00 New York


def _no_fan_out(method: str, args: tuple[Any, ...]) -> dict[str, Any]:
    return {}


def test_the_daily_backup_copies_the_ledger_and_pg_ledgers_are_skipped(tmp_path: Path) -> None:
    ledger_path = tmp_path / "var" / "ledger.sqlite3"
    ledger_path.parent.mkdir(parents=True)
    SqliteLedger(ledger_path, SimClock(NOW)).close()
    settings = Settings(ledger=LedgerConfig(path=ledger_path))
    paths = DeskPaths.under(tmp_path / "var")
    spec = next(s for s in default_schedule() if s.kind == "backup")
    occurrence = Occurrence(spec, NOW, date(2025, 11, 24))
    desk = desk_handlers(settings, paths, SimClock(NOW), _no_fan_out)
    detail = desk.handlers["backup"](occurrence)
    [made] = (tmp_path / "var" / "backups").iterdir()
    assert detail is not None and detail.startswith(f"backup {made.name}")
    copies = list(made.rglob("*.sqlite3"))
    assert copies and integrity_problems(copies[0]) == []
    desk.ledger.close()



def test_a_postgresql_ledger_is_left_to_its_database(tmp_path: Path, postgres_server: PostgresServer) -> None:
    settings = Settings(ledger=LedgerConfig(url=SecretStr(postgres_server.new_database())))
    spec = next(s for s in default_schedule() if s.kind == "backup")
    desk = desk_handlers(settings, DeskPaths.under(tmp_path / "var"), SimClock(NOW), _no_fan_out)
    try:
        with pytest.raises(SkipTask, match="pg_dump"):
            desk.handlers["backup"](Occurrence(spec, NOW, date(2025, 11, 24)))
    finally:
        desk.ledger.close()
    assert not (tmp_path / "var" / "backups").exists()
