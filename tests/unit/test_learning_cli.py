"""``raydesk learning`` through Typer's CliRunner on a real ledger file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from cluster.cli import learning_cmd
from core.learning import export_schema, read
from tests.unit.test_learning_support import Desk, full_run

runner = CliRunner()


def _run(*args: str, env: dict[str, str] | None = None):
    app = typer.Typer()
    app.add_typer(learning_cmd.app, name="learning")
    return runner.invoke(app, ["learning", *args], env={"COLUMNS": "200", **(env or {})})


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    desk = Desk(tmp_path)
    full_run(desk)
    desk.ledger.close()
    return desk.path


@pytest.mark.parametrize("name", ["out.parquet", "out.csv"])
def test_export_writes_the_trades(ledger: Path, tmp_path: Path, name: str) -> None:
    result = _run("export", "--output", str(tmp_path / name), "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    assert "wrote 2 trades (2 complete)" in result.output
    frame = read(tmp_path / name)
    assert frame.height == 2 and frame.schema == pl.Schema(export_schema())


def test_export_of_another_account_is_empty(ledger: Path, tmp_path: Path) -> None:
    result = _run("export", "-o", str(tmp_path / "x.parquet"), "--account", "nobody", "--ledger", str(ledger))
    assert result.exit_code == 0 and "wrote 0 trades" in result.output


def test_stats_prints_counts_coverage_and_warnings(ledger: Path) -> None:
    result = _run("stats", "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    assert "snapshots: 2 entry, 4 daily, 2 exit; trades: 2 (2 complete, 0 open)" in result.output
    assert "fill_price" in result.output and "100%" in result.output
    assert "warning: entry.days_to_earnings: coverage 50% (1/2) below 80%" in result.output
    assert _run("stats", "--ledger", str(ledger), "--strict").exit_code == 1


def test_a_missing_ledger_is_a_red_error_not_a_new_file(tmp_path: Path) -> None:
    result = _run("stats", "--ledger", str(tmp_path / "typo.sqlite3"))
    assert result.exit_code == 2 and "no ledger at" in result.output
    assert not (tmp_path / "typo.sqlite3").exists()


def test_the_default_ledger_comes_from_settings(ledger: Path, tmp_path: Path) -> None:
    result = _run("stats", env={"RAYDESK_LEDGER__PATH": str(ledger)})
    assert result.exit_code == 0, result.output
    assert "trades: 2" in result.output


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    result = _run("stats", env={"RAYDESK_PROFILE": "no-such-profile"})
    assert result.exit_code == 2 and "unknown profile" in result.output
