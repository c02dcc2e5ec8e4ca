"""Every alert kind delivered to a local webhook and a local SMTP server, configured only by a
settings file, environment variables and secret files; no secret in any message or log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.notify.setup import UNDELIVERED_FILE, build_desk_alerts
from adapters.notify.undelivered import SqliteUndeliveredLog
from configs import Settings
from configs.loading import load_settings
from core.alerts import ALERT_NAMES, DeskAlerts
from core.clock import SimClock
from core.messages import LedgerRecorded
from core.model import AccountId
from core.scheduling.runs import RunStatus, TaskRun
from core.trading.bus import MessageBus
from tests.unit.test_notify import HOOK_PATH, SMTP_PASSWORD, SMTP_USER, Hook, Inbox, free_port, start_smtp

T0 = dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)
BROKER_SECRET = "brk-s3cret-in-an-exception"
SLACK_PATH = "/services/T1111/B1111/slack-channel-token"
CRITICAL = {
    "broker_disconnect",
    "kill_switch",
    "reconciliation_block",
    "task_failed",
    "no_trade",
    "negative_credits",
}


@pytest.fixture
def hooks() -> Iterator[tuple[Hook, Hook]]:
    critical, slack = Hook(), Hook()
    yield critical, slack
    critical.close()
    slack.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    controller = start_smtp(box, auth_require_tls=False)
    yield box, controller.port
    controller.stop()


def configure(tmp_path: Path, webhook: str, slack: str, smtp_port: int) -> Settings:
    """Settings from a TOML file, environment variables and a secret file only."""
    config = tmp_path / "desk.toml"
    config.write_text(
        f"""
[[accounts]]
id = "opts"
broker = "sim"
strategies = ["trident"]
notify = "immediate"

[[accounts]]
id = "swing"
broker = "sim"
strategies = ["swing_trend_following"]
notify = "weekly"

[notifications]
retries = 1
backoff_seconds = 0.01
budget_seconds = 2.0

[notifications.smtp]
host = "127.0.0.1"
port = {smtp_port}
sender = "desk@example.test"
recipients = ["ops@example.test"]
starttls = false
"""
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "RAYDESK_NOTIFICATIONS__SMTP__PASSWORD").write_text(SMTP_PASSWORD)
    env = {
        "RAYDESK_NOTIFICATIONS__SMTP__USERNAME": SMTP_USER,
        "RAYDESK_NOTIFICATIONS__WEBHOOKS": json.dumps([{"url": webhook, "min_severity": "critical"}]),
        "SLACK_WEBHOOK_URL": slack,
    }
    return load_settings(config_file=config, env=env, secrets_dir=secrets)


def recorded(kind: str, payload: dict[str, Any], account: str = "opts", seq: int = 1) -> LedgerRecorded:
    return LedgerRecorded(AccountId(account), seq, T0, kind, payload)


def pricing_failure(seq: int) -> LedgerRecorded:
    diagnostic = {"attempt": 3, "put_credit": "-1.53", "call_credit": "0.40", "problems": ["put credit"]}
    return recorded(
        "trident.no_valid_pricing",
        {"strategy": "trident", "attempts": 3, "diagnostics": [diagnostic]},
        seq=seq,
    )


def run_a_day(alerts: DeskAlerts) -> None:
    """A desk day producing every alert kind, through the kernel's bus and the task runner."""
    bus = MessageBus()
    alerts.subscribe(bus)
    broker_error = {
        "alert": "broker_unavailable",
        "during": "process events",
        "error": f"ConnectError {BROKER_SECRET}",
    }
    for message in [
        recorded("trading.alert", broker_error),
        recorded("trading.recovered", {"ready": True, "blocked": False, "error": None}),
        recorded("trading.recovered", {"ready": False, "blocked": True, "error": None}),
        recorded("override", {"cmd": "halt", "accepted": True, "by": "ops", "reason": "drill"}),
        recorded("trading.score_fallback", {"strategy": "trident", "count": 1, "error": "Timeout"}),
        recorded("model.check", {"problems": {"swing_trend_following": "no promoted version"}}),
        *(pricing_failure(i) for i in range(6)),
    ]:
        bus.publish(message)
    for status in (RunStatus.FAILED, RunStatus.MISSED):
        alerts.on_task_run(TaskRun("eod.label_completion", T0, T0, T0, status, detail="exit 1"))
    for day in range(5):
        alerts.session_closed("opts", dt.date(2024, 3, 4 + day), T0)
    alerts.learning_coverage({"entry.macd": 0.4, "entry.rsi": 0.99}, T0)


def alert_names_of_hook(hook: Hook) -> list[str]:
    names = []
    for _, _, body in hook.requests:
        for block in body["blocks"]:
            for f in block.get("fields", []):
                if f["text"].startswith("*alert*\n"):
                    names.append(f["text"].split("\n", 1)[1])
    return names


def test_every_alert_kind_reaches_webhook_and_email_without_secrets(
    tmp_path: Path, hooks: tuple[Hook, Hook], smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    critical_hook, slack_hook = hooks
    inbox, port = smtp
    critical_url = critical_hook.url.get_secret_value()
    slack_url = slack_hook.url.get_secret_value().replace(HOOK_PATH, SLACK_PATH)
    settings = configure(tmp_path, critical_url, slack_url, port)
    alerts = build_desk_alerts(settings, SimClock(T0), tmp_path / "state")

    run_a_day(alerts)

    raised = [n.fields["alert"] for n in alerts.raised]
    assert sorted(set(raised)) == sorted(ALERT_NAMES)
    assert len(raised) == len(ALERT_NAMES)  # each threshold alert once a day
    # SLACK_WEBHOOK_URL takes every kind; the configured webhook only critical ones.
    assert sorted(alert_names_of_hook(slack_hook)) == sorted(ALERT_NAMES)
    assert [p for p, _, _ in slack_hook.requests] == [SLACK_PATH] * len(ALERT_NAMES)
    assert sorted(alert_names_of_hook(critical_hook)) == sorted(CRITICAL)
    # The e-mail channel logged in with the secret file's password and sent every alert.
    assert inbox.logins and all(login == (SMTP_USER, SMTP_PASSWORD) for login in inbox.logins)
    mails = [m.get_body(("plain",)).get_content() for _, _, m in inbox.envelopes]  # type: ignore[union-attr]
    assert sorted(
        line.split(": ", 1)[1] for m in mails for line in m.splitlines() if line.startswith("alert: ")
    ) == sorted(ALERT_NAMES)

    secrets = [
        SMTP_PASSWORD,
        HOOK_PATH,
        SLACK_PATH,
        "slack-channel-token",
        "hush-hush-webhook-token",
        BROKER_SECRET,
    ]
    everything = [
        caplog.text,
        json.dumps([body for h in hooks for _, _, body in h.requests]),
        *(m.as_string() for _, _, m in inbox.envelopes),
        json.dumps(settings.redacted_dict()),
        repr(settings),
    ]
    for text in everything:
        for secret in secrets:
            assert secret not in text


def test_a_down_channel_is_retried_then_recorded_undelivered_and_never_blocks(
    tmp_path: Path, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp
    dead = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    settings = configure(tmp_path, dead, dead.replace(HOOK_PATH, SLACK_PATH), port)
    alerts = build_desk_alerts(settings, SimClock(T0), tmp_path / "state")
    started = time.monotonic()
    # A kill switch: critical, so both webhooks and the e-mail take it.
    alerts.on_recorded(recorded("override", {"cmd": "halt", "accepted": True, "by": "ops"}))
    assert time.monotonic() - started < 5.0  # within the configured budget, never stuck
    assert len(inbox.envelopes) == 1  # the working channel still delivered
    entries = SqliteUndeliveredLog(tmp_path / "state" / UNDELIVERED_FILE).entries()
    assert [(e.alert, e.attempts) for e in entries] == [
        ("kill_switch", 2),
        ("kill_switch", 2),
    ]  # 1 retry each
    assert all(HOOK_PATH not in (e.error or "") and SLACK_PATH not in (e.error or "") for e in entries)
    assert HOOK_PATH not in caplog.text and SLACK_PATH not in caplog.text


def test_weekly_preference_holds_alerts_for_the_weekly_digest(
    tmp_path: Path, hooks: tuple[Hook, Hook], smtp: tuple[Inbox, int]
) -> None:
    _, slack_hook = hooks
    inbox, port = smtp
    settings = configure(tmp_path, hooks[0].url.get_secret_value(), slack_hook.url.get_secret_value(), port)
    alerts = build_desk_alerts(settings, SimClock(T0), tmp_path / "state")
    fallback = recorded(
        "trading.score_fallback", {"strategy": "swing_trend_following", "count": 1}, account="swing"
    )
    alerts.on_recorded(fallback)
    assert slack_hook.requests == [] and inbox.envelopes == []  # a warning waits for the digest
    dispatcher = alerts.sink
    assert hasattr(dispatcher, "flush_digests")
    assert all(r.status == "dropped" for r in dispatcher.flush_digests("daily"))
    [weekly] = dispatcher.flush_digests("weekly")
    assert weekly.ok and weekly.status == "sent"
    [(_, _, body)] = slack_hook.requests
    assert body["text"].startswith("[WARNING] swing: Weekly digest: 1 notification")
    assert "[alert] scoring fell back to rules (swing_trend_following)" in body["text"]
