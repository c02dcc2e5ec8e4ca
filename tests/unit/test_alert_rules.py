"""Seed 002's thresholds and the event-to-alert mapping, without any channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.alerts import AlertRules, DeskEvent, Thresholds, event_alerts, task_run_alert
from core.scheduling.runs import RunStatus, TaskRun

T0 = dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)


def ev(kind: str, payload: dict[str, Any], ts: dt.datetime = T0, account: str | None = "a") -> DeskEvent:
    return DeskEvent(kind, account, ts, payload)


def names(notes: list[Any]) -> list[str]:
    return [n.fields["alert"] for n in notes]


def priced(attempts: int, put: str = "1.10", ts: dt.datetime = T0) -> DeskEvent:
    return ev(
        "trident.priced",
        {"attempts": attempts, "diagnostics": [{"put_credit": put, "call_credit": "0.5"}]},
        ts,
    )


def test_more_than_five_negative_credits_in_a_day_alerts_once() -> None:
    rules = AlertRules()
    out = [names(rules.on_event(priced(1, put="-0.20"))) for _ in range(5)]
    assert out == [[]] * 5  # five is the limit, not over it
    assert names(rules.on_event(priced(1, put="0"))) == ["negative_credits"]
    assert names(rules.on_event(priced(1, put="-1"))) == []  # once a day
    next_day = T0 + dt.timedelta(days=1)
    assert [names(rules.on_event(priced(1, put="-1", ts=next_day))) for _ in range(6)][-1] == [
        "negative_credits"
    ]


def test_retry_rate_over_thirty_percent_alerts_after_enough_cycles() -> None:
    rules = AlertRules(Thresholds(min_cycles=3))
    seen = [names(rules.on_event(priced(a))) for a in (1, 1, 1, 2)]  # 1 of 4 = 25 %
    assert seen == [[], [], [], []]
    assert names(rules.on_event(priced(3))) == ["retry_rate_high"]  # 2 of 5 = 40 %
    rules = AlertRules(Thresholds(min_cycles=3))
    assert [names(rules.on_event(priced(a))) for a in (2, 1, 1)] == [[], [], ["retry_rate_high"]]  # 1 of 3


def test_no_trade_in_five_sessions_and_a_fill_resets_the_count() -> None:
    rules = AlertRules()
    days = [dt.date(2024, 3, d) for d in range(4, 14)]
    assert [names(rules.session_closed("a", d, T0)) for d in days[:4]] == [[]] * 4
    rules.on_event(ev("fill", {}, dt.datetime(2024, 3, 8, 15, tzinfo=dt.UTC)))
    assert names(rules.session_closed("a", days[4], T0)) == []  # traded that session
    assert [names(rules.session_closed("a", d, T0)) for d in days[5:10]] == [[], [], [], [], ["no_trade"]]


def test_a_reconnect_is_news_only_after_a_disconnect() -> None:
    rules = AlertRules()
    ready = ev("trading.recovered", {"ready": True, "blocked": False, "error": None})
    assert names(rules.on_event(ready)) == []
    down = ev("trading.alert", {"alert": "broker_unavailable", "during": "poll", "error": "x"})
    assert names(rules.on_event(down)) == ["broker_disconnect"]
    assert names(rules.on_event(ready)) == ["broker_reconnect"]
    assert names(rules.on_event(ready)) == []


def test_event_mapping_and_log_events() -> None:
    assert names(event_alerts(ev("override", {"cmd": "halt", "accepted": False}))) == []
    assert names(event_alerts(ev("override", {"cmd": "resume", "accepted": True}))) == []
    logged = {
        "kind": "alert",
        "account": "a",
        "ts": T0.isoformat(),
        "payload": {"ledger_kind": "trading.score_fallback", "strategy": "s"},
    }
    assert names(event_alerts(DeskEvent.from_log(logged))) == ["scoring_fallback"]
    task = {
        "kind": "task_run",
        "account": None,
        "ts": T0.isoformat(),
        "payload": {"task": "t", "status": "missed"},
    }
    assert names(event_alerts(DeskEvent.from_log(task))) == ["task_missed"]
    assert task_run_alert(TaskRun("t", T0, T0, T0, RunStatus.OK)) is None
    assert names(AlertRules().learning_coverage({"entry.macd": 0.8, "entry.rsi": 0.79}, T0)) == [
        "learning_coverage_low"
    ]
