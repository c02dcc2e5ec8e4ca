from pathlib import Path

from typer.testing import CliRunner

from adapters.store import BarStore
from cluster.cli import app


def test_demo_generates_market_shows_calendar_and_says_what_is_pending(tmp_path: Path) -> None:
    args = ["demo", "--symbols", "SYNA,SYNB", "--start", "2025-11-24", "--end", "2025-11-28"]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "4 XNYS sessions" in out  # Thanksgiving 2025-11-27 is closed
    assert "2025-11-28" in out and "1 early closes" in out
    assert "not yet in this release" in out
    store = BarStore(tmp_path)
    assert store.symbols("1m") == ["SYNA", "SYNB"]
    # three full sessions and the early close of the day after Thanksgiving
    assert store.read("1m", ["SYNA"]).height == 3 * 390 + 210


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for command in ("demo", "calendar", "data", "config"):
        assert command in top.output
        assert runner.invoke(app, [command, "--help"]).exit_code == 0
    for sub in (["data", "generate"], ["data", "import"], ["data", "info"], ["config", "show"]):
        assert runner.invoke(app, [*sub, "--help"]).exit_code == 0
