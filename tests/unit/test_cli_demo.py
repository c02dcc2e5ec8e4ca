from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.demo import SWING_HISTORY_SESSIONS, demo_settings, plan_demo
from configs import load_settings
from core.calendar import MarketCalendar


def test_demo_plan_replays_a_session_after_enough_history_without_leakage(tmp_path: Path) -> None:
    plan = plan_demo(tmp_path, ["SYNA", "SYNB"], date(2025, 11, 28))
    calendar = MarketCalendar()
    assert plan.training_end == date(2025, 11, 26)  # Thanksgiving is closed; models never see the session
    assert len(calendar.sessions(plan.history_start, plan.training_end)) == SWING_HISTORY_SESSIONS
    assert plan.report_dir == tmp_path / "reports" / "demo_20251128"
    with pytest.raises(ValueError, match="not an XNYS session"):
        plan_demo(tmp_path, ["SYNA"], date(2025, 11, 27))


def test_demo_settings_point_every_store_inside_the_demo_root(tmp_path: Path) -> None:
    plan = plan_demo(tmp_path, ["SYNA"], date(2025, 12, 31), seed=11)
    settings = demo_settings(load_settings(), plan)
    assert Path(settings.data.data_dir) == tmp_path / "data"
    assert Path(settings.ledger.path) == tmp_path / "state" / "ledger.sqlite3"
    assert Path(settings.redis.embedded_path) == tmp_path / "state" / "redis.db"
    assert settings.data.symbols == ["SYNA"] and settings.data.seed == 11
    assert {a.mode for a in settings.accounts} == {"paper"}


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    commands = ["demo", "calendar", "data", "config", "models", "learning", "accounts", "backtest", "train"]
    commands += ["serve", "score", "run", "halt", "resume-all"]
    for command in commands:
        assert command in top.output
        assert runner.invoke(app, [command, "--help"]).exit_code == 0, command
    for sub in (["data", "generate"], ["data", "import"], ["data", "info"], ["config", "show"]):
        assert runner.invoke(app, [*sub, "--help"]).exit_code == 0


def test_demo_refuses_an_unknown_or_missing_venue_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulators

    runner = CliRunner()
    unknown = runner.invoke(app, ["demo", "--venue", "nowhere-sim", "--root", str(tmp_path)])
    assert unknown.exit_code == 2 and "--venue: unknown 'nowhere-sim'" in unknown.output
    monkeypatch.setitem(simulators.SIMULATED_VENUES, "alpaca-sim", "simulators.not_written_yet")
    missing = runner.invoke(app, ["demo", "--venue", "alpaca-sim", "--root", str(tmp_path)])
    assert missing.exit_code == 2 and "the simulator is not available yet" in missing.output
    assert not (tmp_path / "data").exists(), "nothing ran"
