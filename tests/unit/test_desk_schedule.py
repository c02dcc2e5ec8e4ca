"""The scheduler actor's object runs the schedule of the settings, not the built-in one (no Ray)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from actors.scheduler import _SchedulerActor
from configs import Settings
from core.calendar import MarketCalendar, to_new_york

SESSION = date(2024, 11, 29)  # the day after Thanksgiving: an early close at 13:00


def test_the_scheduler_runs_the_configured_groups_in_calendar_order(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "scheduler": {
                "tasks": {
                    "morning": {"time": "09:15", "actions": ["trading_cycle"], "strategy": "sma_cross"},
                    "weekly": {"enabled": False, "time": "sun 22:00", "actions": ["weekly_refresh"]},
                    "flatten": {"time": "close-20m", "actions": ["flatten"]},
                }
            }
        }
    )
    schedule = settings.scheduler.schedule()
    _, close = MarketCalendar().session_open_close(SESSION)
    start = datetime(2024, 11, 29, 13, 0, tzinfo=UTC)  # 08:00 New York
    actor = _SchedulerActor(str(tmp_path / "runs.sqlite3"), [], start, None, schedule)
    assert {s.name for s in actor.runner.scheduler.specs} == {s.name for s in schedule}
    assert not any(s.name.startswith("weekly.") for s in schedule)

    runs = []
    while (wake := actor.next_wake()) is not None and wake <= close:
        actor.clock.set(wake)
        runs += [r for r in actor.runner.tick() if r.task in ("morning.trading_cycle", "flatten.flatten")]
    assert [(r.task, to_new_york(r.due).strftime("%H:%M")) for r in runs] == [
        ("morning.trading_cycle", "09:15"),
        ("flatten.flatten", "12:40"),  # 20 minutes before the early close
    ]


def test_a_paused_task_is_skipped_with_who_and_why_until_resumed(tmp_path: Path) -> None:
    start = datetime(2024, 11, 26, 13, 0, tzinfo=UTC)  # 08:00 New York, a full session
    actor = _SchedulerActor(str(tmp_path / "runs.sqlite3"), [], start, None, Settings().scheduler.schedule())
    with pytest.raises(KeyError, match="no scheduled task or group 'pre_markt'"):
        actor.pause("pre_markt", "typo")
    assert actor.pause("pre_market", "vendor outage (by bob)") == {"pre_market": "vendor outage (by bob)"}
    actor.clock.set(datetime(2024, 11, 26, 13, 31, tzinfo=UTC))
    runs = [r for r in actor.runner.tick() if r.task.startswith("pre_market.")]
    assert runs and all(r.status == "skipped" and r.detail == "paused: vendor outage (by bob)" for r in runs)
    assert actor.resume("pre_market") == {}
    actor.clock.set(datetime(2024, 11, 27, 13, 31, tzinfo=UTC))
    again = [r for r in actor.runner.tick() if r.task.startswith("pre_market.")]
    assert again and not any((r.detail or "").startswith("paused") for r in again)
