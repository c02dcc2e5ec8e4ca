import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cluster.cli import calendar_cmd, config_cmd
from core.clock import LiveClock

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    # Assembled the way cluster/cli/main.py does it.
    app = typer.Typer()
    app.add_typer(config_cmd.app, name="config")
    app.command("calendar")(calendar_cmd.calendar)
    return app


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("RAYDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "160")


# -- config show -----------------------------------------------------------------------
def test_config_show_prints_the_effective_toml(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["config", "show", "--profile", "test"])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.stdout)
    assert shown["profile"] == "test"
    assert [a["id"] for a in shown["accounts"]] == ["intraday", "swing", "options"]
    assert shown["training"]["folds"] == 2


def test_config_show_json_and_user_config_file(cli: typer.Typer, tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[serve]\nport = 9100\n", encoding="utf-8")
    result = runner.invoke(cli, ["config", "show", "--config", str(user), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["serve"]["port"] == 9100


def test_config_show_redacts_secrets(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDESK_CREDENTIALS__ALPACA__API_SECRET", "very-secret-value")
    monkeypatch.setenv("RAYDESK_SERVE__TOKEN", "token-value-123")
    for fmt in ("toml", "json"):
        result = runner.invoke(cli, ["config", "show", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "very-secret-value" not in result.output
        assert "token-value-123" not in result.output
        assert "**********" in result.stdout


def test_config_show_reports_bad_values_and_exits_2(cli: typer.Typer, tmp_path: Path) -> None:
    user = tmp_path / "bad.toml"
    user.write_text("[serve]\nport = 70000\n", encoding="utf-8")
    result = runner.invoke(cli, ["config", "show", "--config", str(user)])
    assert result.exit_code == 2
    assert "serve.port" in result.stderr
    assert "70000" in result.stderr
    assert "bad.toml" in result.stderr
    assert result.stdout == ""


def test_config_show_live_needs_the_live_flag(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(cli, ["config", "show", "--profile", "live"])
    assert result.exit_code == 2
    assert "opt-in" in result.stderr
    for name in (
        "ALPACA__API_KEY",
        "ALPACA__API_SECRET",
        "TASTYTRADE__PROVIDER_SECRET",
        "TASTYTRADE__REFRESH_TOKEN",
    ):
        monkeypatch.setenv(f"RAYDESK_CREDENTIALS__{name}", "x-credential")
    result = runner.invoke(cli, ["config", "show", "--profile", "live", "--live"])
    assert result.exit_code == 0, result.output
    assert {a["mode"] for a in tomllib.loads(result.stdout)["accounts"]} == {"live"}


def test_config_show_unknown_profile_exits_2(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["config", "show", "--profile", "prod"])
    assert result.exit_code == 2
    assert "unknown profile 'prod'" in result.stderr


# -- calendar --------------------------------------------------------------------------
def test_calendar_lists_sessions_in_new_york_time(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["calendar", "--from", "2025-11-24", "--days", "5"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for day in ("2025-11-24", "2025-11-25", "2025-11-26", "2025-11-28", "2025-12-01"):
        assert day in out
    session_table = out.split("Holidays and early closes")[0]
    assert "2025-11-27" not in session_table  # Thanksgiving is not a session
    assert "2025-12-02" not in session_table  # only five sessions
    assert "09:30" in out and "16:00" in out  # New York, not UTC (14:30 / 21:00)
    assert "14:30" not in out
    thanksgiving_friday = next(line for line in out.splitlines() if "2025-11-28" in line)
    assert "13:00" in thanksgiving_friday and "early close" in thanksgiving_friday


def test_calendar_lists_upcoming_holidays_and_early_closes(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["calendar", "--from", "2025-12-01", "--days", "3"])
    assert result.exit_code == 0, result.output
    notes = result.stdout.split("Holidays and early closes")[1]
    assert "2025-12-24" in notes and "early close 13:00" in notes
    assert "2025-12-25" in notes and "holiday" in notes
    assert "2026-01-01" in notes


def test_calendar_defaults_to_today_from_the_live_clock(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2025-07-03 02:00 UTC is still 2025-07-02 in New York.
    monkeypatch.setattr(LiveClock, "now", lambda self: datetime(2025, 7, 3, 2, 0, tzinfo=UTC))
    result = runner.invoke(cli, ["calendar", "--days", "2"])
    assert result.exit_code == 0, result.output
    sessions = result.stdout.split("Holidays and early closes")[0]
    assert "2025-07-02" in sessions and "2025-07-03" in sessions
    assert "2025-07-04" in result.stdout  # Independence Day, listed as a holiday


def test_calendar_rejects_a_bad_date(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["calendar", "--from", "24/11/2025"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
