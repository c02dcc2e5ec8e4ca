"""Choosing the ledger by settings: a SQLite file by default, PostgreSQL by ``ledger.url``."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.ledger import SqliteLedger
from adapters.ledger.postgres import PostgresLedger, open_ledger
from configs import load_settings
from core.errors import ConfigError
from tests.postgres_server import PostgresServer


def test_default_is_the_sqlite_file(tmp_path: Path) -> None:
    settings = load_settings(env={"RAYDESK_LEDGER__PATH": str(tmp_path / "l.sqlite3")})
    assert settings.ledger.location == tmp_path / "l.sqlite3"
    with open_ledger(settings.ledger.location) as ledger:
        assert type(ledger) is SqliteLedger


def test_url_selects_postgresql(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    settings = load_settings(env={"RAYDESK_LEDGER__URL": url})
    assert settings.ledger.location == url
    with open_ledger(settings.ledger.location) as ledger:
        assert isinstance(ledger, PostgresLedger)
        assert ledger.schema_version == 2


def test_a_bad_url_names_the_field_and_never_echoes_it() -> None:
    secret = "postgresqlx://desk:hunter2@db/ledger"
    with pytest.raises(ConfigError) as failure:
        load_settings(env={"RAYDESK_LEDGER__URL": secret})
    assert "ledger.url" in str(failure.value)
    assert "hunter2" not in str(failure.value)
