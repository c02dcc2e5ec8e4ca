"""``raydesk models`` through Typer's CliRunner, on a registry in a temporary directory."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cluster.cli import models_cmd
from core.clock import SimClock
from training.registry import ModelRegistry

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(models_cmd.app, name="models")
    return app


def _run(*args: str):
    return runner.invoke(_app(), ["models", *args])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    reg = ModelRegistry(tmp_path / "models", SimClock(T0))
    for i, passed in enumerate((True, True, False)):
        reg.register(
            "mean_rev",
            f"model {i}".encode(),
            metrics={"sharpe": 1.5 + i, "max_drawdown_pct": 4.2, "n_trades": 150},
            features=["zscore", "rsi"],
            feature_hash="abc123",
            data_window=(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 5, 30, tzinfo=UTC)),
            params={"num_leaves": 31},
            code_version="0.1.0",
            gate_report={
                "passed": passed,
                "gates": [{"name": "sharpe", "op": ">=", "threshold": 1.0, "value": 1.5, "passed": passed}],
            },
        )
    reg.promote("mean_rev", "v0001")
    return reg.root


def test_list(root: Path) -> None:
    result = _run("list", "--registry", str(root))
    assert result.exit_code == 0, result.output
    for text in ("mean_rev", "v0001", "v0002", "v0003", "★", "1.50", "pass", "fail"):
        assert text in result.stdout
    assert result.stdout.count("★") == 1


def test_list_without_a_registry_creates_nothing(tmp_path: Path) -> None:
    result = _run("list", "--registry", str(tmp_path / "missing"))
    assert result.exit_code == 0
    assert "no models registered" in result.stdout
    assert not (tmp_path / "missing").exists()


def test_show_defaults_to_the_promoted_version(root: Path) -> None:
    result = _run("show", "mean_rev", "--registry", str(root))
    assert result.exit_code == 0, result.output
    assert "mean_rev v0001" in result.stdout
    assert "abc123" in result.stdout and "promotion history" in result.stdout
    other = _run("show", "mean_rev", "v0003", "--registry", str(root))
    assert other.exit_code == 0
    assert "mean_rev v0003" in other.stdout and "not promoted" in other.stdout


def test_promote_and_rollback(root: Path) -> None:
    result = _run("promote", "mean_rev", "v0002", "--registry", str(root))
    assert result.exit_code == 0, result.output
    assert "promoted mean_rev v0002 (was v0001)" in result.stdout
    reg = ModelRegistry(root, SimClock(T0))
    assert reg.promoted("mean_rev").version == "v0002"  # type: ignore[union-attr]

    result = _run("rollback", "mean_rev", "--registry", str(root))
    assert result.exit_code == 0, result.output
    assert "rolled back mean_rev to v0001" in result.stdout
    assert reg.promoted("mean_rev").version == "v0001"  # type: ignore[union-attr]


def test_failed_gates_need_force(root: Path) -> None:
    result = _run("promote", "mean_rev", "v0003", "--registry", str(root))
    assert result.exit_code == 2
    assert "failed its promotion gates" in result.stderr
    forced = _run("promote", "mean_rev", "v0003", "--force", "--registry", str(root))
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollback", "mean_rev"), "cannot roll back mean_rev"),
        (("show", "mean_rev", "v0042"), "no model mean_rev v0042"),
        (("show", "unknown"), "no models registered for unknown"),
        (("promote", "mean_rev", "v0042"), "no model mean_rev v0042"),
        (("promote", "../x", "v0001"), "invalid strategy name"),
    ],
)
def test_errors_exit_2_with_a_message(root: Path, args: tuple[str, ...], message: str) -> None:
    result = _run(*args, "--registry", str(root))
    assert result.exit_code == 2
    assert "error:" in result.stderr and message in result.stderr
    assert result.stdout == ""


def test_missing_registry_is_an_error_for_writes(tmp_path: Path) -> None:
    result = _run("promote", "mean_rev", "v0001", "--registry", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "no model registry at" in result.stderr
    assert not (tmp_path / "nope").exists()
