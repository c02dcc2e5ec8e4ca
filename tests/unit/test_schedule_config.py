"""The schedule from settings: seed 001's task groups over the calendar-aware defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from configs import Settings, load_settings
from core.calendar import MarketCalendar, to_new_york
from core.clock import SimClock
from core.errors import ConfigError, InvalidValue
from core.scheduling.config import build_schedule, parse_when, task_group
from core.scheduling.defaults import default_schedule
from core.scheduling.planner import Scheduler
from core.scheduling.triggers import AtClock, AtSessionTime, Every, Nightly, SessionTime, Weekly

SEED_001 = """
[scheduler.tasks.pre_market]
enabled = true
time = "08:30"
actions = ["feature_refresh", "universe_refresh", "model_check"]

[scheduler.tasks.nightly]
enabled = true
time = "nightly 02:00"
actions = ["retrain", "backup"]

[scheduler.tasks.morning]
time = "09:15"
actions = ["trading_cycle"]
strategy = "intraday_mean_reversion"

[scheduler.tasks.weekly]
enabled = false
time = "sun 22:00"
actions = ["weekly_refresh"]
"""


def settings_from(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "raydesk.toml"
    path.write_text(text)
    return load_settings(config_file=path, env={})


@pytest.mark.parametrize(
    ("when", "trigger"),
    [
        ("08:30", AtClock(time(8, 30))),
        ("open+15m", AtSessionTime("open", timedelta(minutes=15))),
        ("close-10m", AtSessionTime("close", timedelta(minutes=-10))),
        ("close", AtSessionTime("close")),
        ("nightly 02:00", Nightly(time(2, 0))),
        ("Sun 22:00", Weekly(6, time(22, 0))),
    ],
)
def test_times_parse_to_calendar_aware_triggers(when: str, trigger: object) -> None:
    assert parse_when(when) == trigger


def test_every_repeats_from_a_session_time_until_the_close() -> None:
    assert parse_when("open+15m", every="10m") == Every(
        timedelta(minutes=10), SessionTime("open", timedelta(minutes=15)), SessionTime("close")
    )


@pytest.mark.parametrize("when", ["25:00", "8:30", "open+0m", "noon", "nightly", "close+15x", "mon 9:00"])
def test_bad_times_are_refused(when: str) -> None:
    with pytest.raises(InvalidValue):
        parse_when(when)


def test_seed_001_shape_replaces_removes_and_adds_groups(tmp_path: Path) -> None:
    schedule = settings_from(tmp_path, SEED_001).scheduler.schedule()
    names = [t.name for t in schedule]
    defaults = [t.name for t in default_schedule()]
    # the configured pre_market group takes the default group's place
    assert names[:3] == ["pre_market.feature_refresh", "pre_market.universe_refresh", "pre_market.model_check"]
    assert "nightly.retrain" in names and "nightly.backup" in names
    assert not any(n.startswith("weekly.") for n in names)  # disabled
    assert names[-1] == "morning.trading_cycle"  # added
    assert [t.applies_to for t in schedule if t.name == "morning.trading_cycle"] == ["intraday_mean_reversion"]
    untouched = [n for n in defaults if n.split(".")[0] not in {"pre_market", "nightly", "weekly"}]
    assert [n for n in names if n in untouched] == untouched


def test_configured_tasks_fire_in_calendar_order_on_an_early_close() -> None:
    # 2025-11-28, the day after Thanksgiving: the market closes at 13:00 New York time.
    group = task_group("eod", "close+30m", ["daily_report", "backup"])
    morning = task_group("morning", "09:15", ["trading_cycle"], strategy="intraday_mean_reversion")
    schedule = build_schedule(default_schedule(), [group, morning])
    clock = SimClock(datetime(2025, 11, 28, 5, 0, tzinfo=UTC))
    _, close = MarketCalendar().session_open_close(date(2025, 11, 28))
    assert to_new_york(close).strftime("%H:%M") == "13:00"
    scheduler = Scheduler(schedule, MarketCalendar(), clock)
    start = datetime(2025, 11, 28, 5, 0, tzinfo=UTC)
    found = scheduler.occurrences(start, start + timedelta(hours=20))
    day = [o for o in found if o.task.name.startswith(("eod.", "morning."))]
    due = [(o.task.name, to_new_york(o.due).strftime("%H:%M")) for o in day]
    assert due == [("morning.trading_cycle", "09:15"), ("eod.daily_report", "13:30"), ("eod.backup", "13:30")]


def test_a_bad_time_or_action_fails_start_up_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failure:
        settings_from(tmp_path, '[scheduler.tasks.pre_market]\ntime = "8:30"\nactions = ["model_check"]\n')
    assert "scheduler.tasks.pre_market.time" in str(failure.value)
    with pytest.raises(ConfigError) as failure:
        settings_from(tmp_path, '[scheduler.tasks.pre_market]\ntime = "08:30"\nactions = ["retrian"]\n')
    assert "scheduler.tasks.pre_market.actions" in str(failure.value) and "retrian" in str(failure.value)
    with pytest.raises(ConfigError, match=r"tasks\.x\.actions\[0\].*strategy"):
        settings_from(tmp_path, '[scheduler.tasks.x]\ntime = "09:15"\nactions = ["trading_cycle"]\n')


def test_schedule_round_trips_through_the_rendered_config(tmp_path: Path) -> None:
    from configs.render import render

    settings = settings_from(tmp_path, SEED_001)
    again = settings_from(tmp_path, render(settings))
    assert again.scheduler == settings.scheduler
    assert [t.name for t in again.scheduler.schedule()] == [t.name for t in settings.scheduler.schedule()]
