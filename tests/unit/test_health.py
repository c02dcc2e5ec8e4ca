"""``raydesk health`` after a day with a failed task and a disconnected broker, and a good day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from adapters.ledger import SqliteLedger
from adapters.ledger.task_runs import SqliteRunStore
from adapters.notify.setup import UNDELIVERED_FILE
from adapters.notify.undelivered import SqliteUndeliveredLog
from cluster.cli.main import app
from core.clock import SimClock
from core.health.checks import HealthReport, broker_connectivity, disk_space, quote_freshness
from core.model import AccountId
from core.ports.ledger import LedgerEvent
from core.ports.notify import DeliveryResult, Notification
from core.scheduling.runs import RunStatus, TaskRun

SESSION_NOON = dt.datetime(2024, 3, 4, 17, 0, tzinfo=dt.UTC)  # Monday, 12:00 New York
AFTER_CLOSE = "2024-03-04T22:45:00Z"


def desk(tmp_path: Path, bad_day: bool) -> dict[str, str]:
    config = tmp_path / "desk.toml"
    config.write_text(
        f"""
[ledger]
path = "{tmp_path / "ledger.sqlite3"}"

[data]
data_dir = "{tmp_path / "data"}"

[[accounts]]
id = "opts"
broker = "sim"
strategies = ["trident"]

[[accounts]]
id = "swing"
broker = "sim"
strategies = ["swing_trend_following"]
"""
    )
    clock = SimClock(SESSION_NOON)
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", clock)
    for account in ("opts", "swing"):
        ledger.append_event(
            "trading.recovered", {"ready": True, "blocked": False, "error": None}, AccountId(account)
        )
    runs = SqliteRunStore(tmp_path / "ledger.sqlite3")
    due = SESSION_NOON + dt.timedelta(hours=4, minutes=30)
    runs.record(TaskRun("eod.flatten", due, due, due, RunStatus.OK))
    if bad_day:
        clock.advance(dt.timedelta(minutes=5))
        ledger.append_event(
            "trading.alert",
            {"alert": "broker_unavailable", "during": "poll", "error": "x"},
            AccountId("swing"),
        )
        label_due = due + dt.timedelta(minutes=30)
        runs.record(
            TaskRun("eod.label_completion", label_due, label_due, label_due, RunStatus.FAILED, "exit 1")
        )
        # The alert about it could not reach the webhook: recorded undelivered.
        log = SqliteUndeliveredLog(tmp_path / "state" / UNDELIVERED_FILE)
        note = Notification("alert", "task failed", "", label_due, None, "critical", {"alert": "task_failed"})
        log(
            note,
            DeliveryResult(
                ok=False, channel="webhook(127.0.0.1)", status="failed", attempts=3, error="refused"
            ),
        )
    runs.close()
    ledger.close()
    return {"RAYDESK_CONFIG": str(config)}


def health(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    args = ["health", "--at", AFTER_CLOSE, "--root", str(tmp_path), "--min-free-gb", "0.01"]
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.output


def test_a_failed_task_and_a_disconnected_broker_make_the_desk_unhealthy(tmp_path: Path) -> None:
    code, out = health(tmp_path, desk(tmp_path, bad_day=True))
    assert code == 1, out
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 3, out
    assert "task_runs" in failing[0] and "eod.label_completion failed (2024-03-04 22:00 UTC)" in failing[0]
    assert "broker" in failing[1] and "swing: broker disconnected since 2024-03-04 17:05 UTC" in failing[1]
    assert "notifications" in failing[2] and "undelivered: 1 by webhook(127.0.0.1)" in failing[2]
    assert out.rstrip().endswith("UNHEALTHY (3 failing)")
    assert "ok   broker                 opts: connected" in out


def test_a_good_day_is_healthy(tmp_path: Path) -> None:
    code, out = health(tmp_path, desk(tmp_path, bad_day=False))
    assert code == 0, out
    assert out.rstrip().endswith("healthy")
    for check in (
        "task_runs",
        "broker",
        "quotes",
        "snapshots",
        "positions_after_close",
        "orphan_orders",
        "labels",
        "disk",
        "ledger_integrity",
    ):
        assert check in out


def test_checks_reconnect_quotes_and_disk() -> None:
    def event(seq: int, kind: str, **payload: object) -> LedgerEvent:
        return LedgerEvent(seq, SESSION_NOON, kind, AccountId("a"), payload)

    down = event(1, "trading.alert", alert="broker_unavailable")
    back = event(2, "trading.recovered", ready=True, error=None)
    assert not broker_connectivity("a", [down]).ok
    assert broker_connectivity("a", [down, back]).ok
    assert not broker_connectivity(
        "a", [down, event(3, "trading.recovered", ready=False, error="refused")]
    ).ok
    assert not broker_connectivity("a", [], {"status": "recovering"}).ok
    assert not quote_freshness({"SPY": 45.0, "QQQ": None}, 30.0, market_open=True).ok
    assert quote_freshness({"SPY": 5.0}, 30.0, market_open=True).ok
    assert quote_freshness({"SPY": 500.0}, 30.0, market_open=False).ok
    assert not disk_space("/", 10, 100, 11).ok
    report = HealthReport((disk_space("/", 10, 100, 11), quote_freshness({}, 1, False)))
    assert not report.healthy and [f.check for f in report.failures] == ["disk"]
