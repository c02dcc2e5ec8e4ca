"""The pure scheduler: calendar-aware occurrences, the missed-run rule, the runner, run stores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from adapters.ledger import SqliteLedger
from adapters.ledger.task_runs import SqliteRunStore
from core.calendar import NEW_YORK, MarketCalendar
from core.clock import SimClock
from core.errors import InvalidValue
from core.scheduling import (
    DESK,
    AtClock,
    AtSessionTime,
    Every,
    Handler,
    InMemoryRunStore,
    MissedRunPolicy,
    Nightly,
    Occurrence,
    RunStatus,
    RunStore,
    Scheduler,
    ScheduleRunner,
    SessionTime,
    SkipTask,
    TaskRun,
    TaskSpec,
    Weekly,
    default_schedule,
)
from core.scheduling.triggers import wall_time

CAL = MarketCalendar()


def et(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A New York wall time as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=NEW_YORK).astimezone(UTC)


def hm(ts: datetime) -> str:
    return ts.astimezone(NEW_YORK).strftime("%H:%M")


def scheduler(
    start: datetime | None = None, specs: list[TaskSpec] | None = None, **kw: timedelta
) -> Scheduler:
    clock = SimClock(start or et(2025, 11, 24))
    return Scheduler(default_schedule() if specs is None else specs, CAL, clock, **kw)


def day_occurrences(s: Scheduler, d: date) -> list[Occurrence]:
    nxt = d + timedelta(days=1)
    return s.occurrences(et(d.year, d.month, d.day), et(nxt.year, nxt.month, nxt.day))


def singles(occs: list[Occurrence]) -> list[tuple[str, str]]:
    """(ET time, name) of everything but the repeating monitor and options cycles."""
    return [(hm(o.due), o.task.name) for o in occs if o.task.name not in {"monitor", "trade.trident"}]


def times_of(occs: list[Occurrence], name: str) -> list[str]:
    return [hm(o.due) for o in occs if o.task.name == name]


def every(first: str, last: str, minutes: int) -> list[str]:
    t = datetime.strptime(first, "%H:%M")
    end = datetime.strptime(last, "%H:%M")
    out = []
    while t <= end:
        out.append(t.strftime("%H:%M"))
        t += timedelta(minutes=minutes)
    return out


NORMAL_DAY = [
    ("08:30", "pre_market.features"),
    ("08:30", "pre_market.universe"),
    ("08:30", "pre_market.model_check"),
    ("09:45", "trade.intraday_mean_reversion.1"),
    ("10:00", "trade.swing_trend_following"),
    ("10:15", "trade.intraday_mean_reversion.2"),
    ("15:30", "flatten.1"),
    ("15:50", "flatten.2"),
    ("16:05", "snapshot.positions"),
    ("17:00", "backup.ledger"),
    ("17:30", "labels.complete"),
    ("17:45", "health.check"),
    ("18:00", "report.daily"),
]


# -- occurrences ------------------------------------------------------------------------------
def test_normal_session_exact_times_in_new_york() -> None:
    occs = day_occurrences(scheduler(), date(2025, 11, 24))  # a Monday: no nightly at 02:00
    assert singles(occs) == NORMAL_DAY
    assert times_of(occs, "monitor") == every("09:30", "16:00", 10)
    assert times_of(occs, "trade.trident") == every("09:45", "14:45", 15)
    assert all(o.session == date(2025, 11, 24) for o in occs)
    # Sorted by due time; equal times keep spec order (the flatten pass before monitoring).
    keys = [o.due for o in occs]
    assert keys == sorted(keys)
    at_0945 = [o.task.name for o in occs if hm(o.due) == "09:45"]
    assert at_0945 == ["trade.intraday_mean_reversion.1", "trade.trident"]
    assert [o.task.name for o in occs if hm(o.due) == "15:50"] == ["flatten.2", "monitor"]


def test_options_cycle_is_21_runs_not_the_seeds_22() -> None:
    occs = day_occurrences(scheduler(), date(2025, 11, 24))
    # 09:45 to 14:45 every 15 minutes, both ends included: 5 h / 15 min + 1.
    assert len(times_of(occs, "trade.trident")) == 21
    # The seed's crontab(hour="9-14", minute="45,0,15,30") fires 24 times, 21 of them from 09:45.
    crontab = [f"{h:02d}:{m:02d}" for h in range(9, 15) for m in (0, 15, 30, 45)]
    assert len(crontab) == 24
    assert [t for t in crontab if t >= "09:45"] == times_of(occs, "trade.trident")


def test_early_close_moves_session_anchored_tasks() -> None:
    d = date(2025, 11, 28)
    assert CAL.is_early_close(d)
    occs = day_occurrences(scheduler(), d)
    assert singles(occs) == [
        ("08:30", "pre_market.features"),
        ("08:30", "pre_market.universe"),
        ("08:30", "pre_market.model_check"),
        ("09:45", "trade.intraday_mean_reversion.1"),
        ("10:00", "trade.swing_trend_following"),
        ("10:15", "trade.intraday_mean_reversion.2"),
        ("12:30", "flatten.1"),
        ("12:50", "flatten.2"),
        ("13:05", "snapshot.positions"),
        ("14:30", "labels.complete"),
        ("14:45", "health.check"),
        ("15:00", "report.daily"),
        ("17:00", "backup.ledger"),  # a wall time: the early close does not move it
    ]
    assert times_of(occs, "monitor") == every("09:30", "13:00", 10)
    # Clipped to close - 15 min: the last options cycle is 12:45, 13 runs.
    assert times_of(occs, "trade.trident") == every("09:45", "12:45", 15)


def test_holiday_has_only_the_nightly_of_the_previous_session() -> None:
    occs = day_occurrences(scheduler(), date(2025, 11, 27))  # Thanksgiving
    assert [(hm(o.due), o.task.name, o.session) for o in occs] == [
        ("02:00", "nightly.retrain", date(2025, 11, 26))
    ]
    # No session on Thursday, so no nightly on Friday morning.
    assert [o.task.name for o in day_occurrences(scheduler(), date(2025, 11, 28))].count(
        "nightly.retrain"
    ) == 0


def test_weekend_has_only_nightly_and_weekly() -> None:
    s = scheduler()
    sat = day_occurrences(s, date(2025, 11, 29))
    sun = day_occurrences(s, date(2025, 11, 30))
    assert [(hm(o.due), o.task.name, o.session) for o in sat] == [
        ("02:00", "nightly.retrain", date(2025, 11, 28))
    ]
    assert [(hm(o.due), o.task.name, o.session) for o in sun] == [("22:00", "weekly.refresh", None)]
    # Monday 02:00 follows no session: nothing fires before the pre-market tasks.
    monday = day_occurrences(s, date(2025, 12, 1))
    assert monday[0].task.name == "pre_market.features"


@pytest.mark.parametrize(
    ("before", "after"),
    [(date(2025, 3, 7), date(2025, 3, 10)), (date(2025, 10, 31), date(2025, 11, 3))],
)
def test_dst_boundary_keeps_new_york_wall_times(before: date, after: date) -> None:
    s = scheduler()
    # Session-bound tasks only: Friday 02:00 has a nightly (after Thursday), Monday 02:00 none.
    a = [o for o in day_occurrences(s, before) if o.session == before]
    b = [o for o in day_occurrences(s, after) if o.session == after]
    assert len(a) == len(NORMAL_DAY) + 40 + 21
    assert [(hm(o.due), o.task.name) for o in a] == [(hm(o.due), o.task.name) for o in b]
    # The UTC instants moved by the clock change (one hour).
    shift = {o.due - p.due - (after - before) for o, p in zip(b, a, strict=True)}
    assert len(shift) == 1
    assert abs(shift.pop()) == timedelta(hours=1)


def test_nightly_and_weekly_across_the_spring_forward_weekend() -> None:
    s = scheduler()
    occs = s.occurrences(et(2025, 3, 8), et(2025, 3, 10))
    assert [(o.due, o.task.name) for o in occs] == [
        (datetime(2025, 3, 8, 7, 0, tzinfo=UTC), "nightly.retrain"),  # 02:00 EST
        (datetime(2025, 3, 10, 2, 0, tzinfo=UTC), "weekly.refresh"),  # 22:00 EDT
    ]


def test_nonexistent_wall_time_fires_after_the_jump() -> None:
    assert wall_time(date(2025, 3, 9), time(2, 30)) == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert wall_time(date(2025, 11, 2), time(1, 30)) == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # first pass


def test_trigger_validation() -> None:
    with pytest.raises(InvalidValue):
        Every(timedelta(0), SessionTime("open"), SessionTime("close"))
    with pytest.raises(InvalidValue):
        Weekly(7, time(22, 0))
    with pytest.raises(InvalidValue):
        wall_time(date(2025, 11, 24), time(8, 30, tzinfo=UTC))
    inside_hours = TaskSpec("x", "x", Nightly(time(11, 0)), DESK, MissedRunPolicy.RUN_ONCE)
    with pytest.raises(InvalidValue, match="after the next open"):
        day_occurrences(scheduler(specs=[inside_hours]), date(2025, 11, 24))
    spec = default_schedule()[0]
    with pytest.raises(InvalidValue, match="duplicate"):
        scheduler(specs=[spec, spec])


def test_every_clipped_past_its_start_fires_nothing() -> None:
    clipped = Every(
        timedelta(minutes=15), time(12, 0), time(14, 0), not_after=SessionTime("close", timedelta(hours=-2))
    )
    assert clipped.fire(date(2025, 11, 28), CAL) == []  # close 13:00 - 2 h = 11:00 < 12:00
    assert len(clipped.fire(date(2025, 11, 24), CAL)) == 9
    assert AtClock(time(8, 30)).fire(date(2025, 11, 29), CAL) == []
    assert AtSessionTime("open").fire(date(2025, 11, 27), CAL) == []


def test_next_due_and_due() -> None:
    s = scheduler()
    nxt = s.next_due(et(2025, 11, 28, 14, 59))
    assert nxt is not None and nxt.task.name == "report.daily" and nxt.due == et(2025, 11, 28, 15, 0)
    # Strictly after now.
    nxt = s.next_due(et(2025, 11, 28, 15, 0))
    assert nxt is not None and (nxt.task.name, nxt.due) == ("backup.ledger", et(2025, 11, 28, 17, 0))
    nxt = s.next_due(et(2025, 11, 27, 3, 0))
    assert nxt is not None and (nxt.task.name, nxt.due) == ("pre_market.features", et(2025, 11, 28, 8, 30))
    now = et(2025, 11, 24, 9, 45)
    last = {o.task.name: o.due for o in s.occurrences(now - timedelta(days=7), now)}
    assert [o.task.name for o in s.due(now, last)] == ["trade.intraday_mean_reversion.1", "trade.trident"]
    assert s.due(now, {**last, "trade.trident": now}) == s.due(now, last)[:1]


def test_next_due_uses_the_clock_and_gives_up_on_an_empty_schedule() -> None:
    s = scheduler(start=et(2025, 11, 24, 9, 0))
    nxt = s.next_due()
    assert nxt is not None and nxt.due == et(2025, 11, 24, 9, 30)
    assert scheduler(specs=[]).next_due(et(2025, 11, 24)) is None


# -- the missed-run rule ------------------------------------------------------------------------
def handled_until(s: Scheduler, until: datetime) -> dict[str, datetime]:
    """last_runs as if every occurrence before ``until`` had been handled."""
    return {o.task.name: o.due for o in s.occurrences(until - timedelta(days=7), until)}


def named(occs: list[Occurrence]) -> list[tuple[str, str]]:
    return [(o.due.astimezone(NEW_YORK).strftime("%m-%d %H:%M"), o.task.name) for o in occs]


def test_down_for_a_session_restart_next_morning() -> None:
    s = scheduler()
    last = handled_until(s, et(2025, 11, 23, 23, 0))  # everything up to Sunday night
    run, missed = s.catch_up(et(2025, 11, 25, 10, 5), last)  # back Tuesday 10:05
    assert named(run) == [
        ("11-24 17:30", "labels.complete"),  # valid until superseded
        ("11-24 18:00", "report.daily"),
        ("11-25 08:30", "pre_market.features"),  # valid until Tuesday's close
        ("11-25 08:30", "pre_market.universe"),
        ("11-25 08:30", "pre_market.model_check"),
    ]
    reasons = {(m.occurrence.task.name, m.occurrence.due): m.reason for m in missed}
    assert reasons[("snapshot.positions", et(2025, 11, 24, 16, 5))].startswith("expired")
    assert reasons[("health.check", et(2025, 11, 24, 17, 45))].startswith("expired")
    assert reasons[("nightly.retrain", et(2025, 11, 25, 2, 0))].startswith("expired")
    assert reasons[("flatten.2", et(2025, 11, 24, 15, 50))] == "expired: session 2025-11-24 closed"
    assert reasons[("pre_market.features", et(2025, 11, 24, 8, 30))] == "superseded by a later occurrence"
    # Trading cycles are never run late: Monday's and Tuesday's early ones are missed.
    late_trades = [n for n, d in reasons if n.startswith("trade.")]
    assert Counter(late_trades) == {
        "trade.intraday_mean_reversion.1": 2,
        "trade.intraday_mean_reversion.2": 1,
        "trade.swing_trend_following": 2,
        "trade.trident": 21 + 2,
    }
    assert Counter(n for n, _ in reasons)["monitor"] == 40 + 4  # Monday's, then 09:30-10:00
    # Every pending occurrence is either run or recorded missed, exactly once.
    pending = s.due(et(2025, 11, 25, 10, 5), last)
    assert len(pending) == len(run) + len(missed)
    assert {(o.task.name, o.due) for o in pending} == {(o.task.name, o.due) for o in run} | set(reasons)


def test_down_over_the_weekend_runs_post_close_work_before_monday_open() -> None:
    s = scheduler()
    last = handled_until(s, et(2025, 11, 21, 12, 0))  # down from Friday noon
    run, missed = s.catch_up(et(2025, 11, 24, 6, 0), last)  # back Monday 06:00
    assert named(run) == [
        ("11-21 16:05", "snapshot.positions"),
        ("11-21 17:00", "backup.ledger"),
        ("11-21 17:30", "labels.complete"),
        ("11-21 17:45", "health.check"),
        ("11-21 18:00", "report.daily"),
        ("11-22 02:00", "nightly.retrain"),
        ("11-23 22:00", "weekly.refresh"),
    ]
    assert {m.occurrence.task.name for m in missed} == {
        "trade.trident",
        "monitor",
        "flatten.1",
        "flatten.2",
    }


def test_flatten_runs_once_if_the_session_is_still_open() -> None:
    s = scheduler()
    now = et(2025, 11, 24, 15, 55)
    run, missed = s.catch_up(now, handled_until(s, et(2025, 11, 24, 15, 0)))
    assert named(run) == [("11-24 15:50", "flatten.2")]
    reasons = {
        m.occurrence.task.name: m.reason for m in missed if m.occurrence.task.name.startswith("flatten")
    }
    assert reasons == {"flatten.1": "superseded by flatten.2"}
    assert [hm(m.occurrence.due) for m in missed if m.occurrence.task.name == "monitor"] == every(
        "15:00", "15:50", 10
    )


def test_flatten_on_an_early_close_and_after_the_close() -> None:
    s = scheduler()
    run, _ = s.catch_up(et(2025, 11, 28, 12, 40), handled_until(s, et(2025, 11, 28, 12, 0)))
    assert named(run) == [("11-28 12:30", "flatten.1"), ("11-28 12:40", "monitor")]  # 10 min late, still open
    run, missed = s.catch_up(et(2025, 11, 28, 13, 3), handled_until(s, et(2025, 11, 28, 12, 0)))
    assert named(run) == []  # 13:00 monitoring is 3 minutes late: past its 2-minute grace
    flatten = {m.occurrence.task.name: m.reason for m in missed if m.occurrence.task.kind == "flatten"}
    assert flatten == {
        "flatten.1": "expired: session 2025-11-28 closed",
        "flatten.2": "expired: session 2025-11-28 closed",
    }


def test_grace_separates_on_time_from_late() -> None:
    s = scheduler()
    last = handled_until(s, et(2025, 11, 24, 9, 44))
    run, missed = s.catch_up(et(2025, 11, 24, 9, 47), last)
    assert named(run) == [
        ("11-24 09:45", "trade.intraday_mean_reversion.1"),
        ("11-24 09:45", "trade.trident"),
    ]
    assert missed == []
    run, missed = s.catch_up(et(2025, 11, 24, 9, 47) + timedelta(seconds=1), last)
    assert run == []
    assert {m.occurrence.task.name for m in missed} == {"trade.intraday_mean_reversion.1", "trade.trident"}
    assert all(m.reason == "late: this task never runs late" for m in missed)


def test_on_time_occurrence_supersedes_late_ones_of_the_same_task() -> None:
    spec = TaskSpec(
        "poll",
        "poll",
        Every(timedelta(minutes=10), SessionTime("open"), SessionTime("close")),
        DESK,
        MissedRunPolicy.RUN_ONCE,
    )
    s = scheduler(specs=[spec])
    run, missed = s.catch_up(et(2025, 11, 24, 10, 0), {"poll": et(2025, 11, 24, 9, 30)})
    assert named(run) == [("11-24 10:00", "poll")]
    assert [hm(m.occurrence.due) for m in missed] == ["09:40", "09:50"]


def test_run_all_runs_every_missed_occurrence_in_order() -> None:
    spec = TaskSpec(
        "archive", "archive", AtSessionTime("close", timedelta(minutes=5)), DESK, MissedRunPolicy.RUN_ALL
    )
    s = scheduler(specs=[spec])
    run, missed = s.catch_up(et(2025, 11, 26, 9, 0), {"archive": et(2025, 11, 20, 16, 5)})
    assert named(run) == [("11-21 16:05", "archive"), ("11-24 16:05", "archive"), ("11-25 16:05", "archive")]
    assert missed == []


def test_a_task_that_never_ran_was_not_missed() -> None:
    now = et(2025, 11, 24, 10, 1)
    # Default: no history, no backfill: only what is on time (within its grace) runs.
    run, missed = scheduler().catch_up(now, {})
    assert named(run) == [
        ("11-24 10:00", "trade.swing_trend_following"),
        ("11-24 10:00", "trade.trident"),
        ("11-24 10:00", "monitor"),
    ]
    assert missed == []
    # first_lookback opts into a catch-up for new tasks; lookback still bounds everything.
    run, missed = scheduler(first_lookback=timedelta(hours=2), lookback=timedelta(hours=1)).catch_up(now, {})
    assert [o.task.name for o in run] == [o.task.name for o in scheduler().catch_up(now, {}).run]
    assert [(hm(m.occurrence.due), m.occurrence.task.name) for m in missed] == [
        ("09:30", "monitor"),  # 08:30 pre-market work is older than the lookback: forgotten
        ("09:40", "monitor"),
        ("09:45", "trade.intraday_mean_reversion.1"),
        ("09:45", "trade.trident"),
        ("09:50", "monitor"),
    ]
    run, _ = scheduler(first_lookback=timedelta(hours=2)).catch_up(now, {})
    assert [o.task.name for o in run][:3] == [
        "pre_market.features",
        "pre_market.universe",
        "pre_market.model_check",
    ]
    with pytest.raises(InvalidValue):
        scheduler(first_lookback=timedelta(minutes=-1))


# -- the runner ----------------------------------------------------------------------------------
def make_runner(
    clock: SimClock,
    handlers: Mapping[str, Handler] | None = None,
    store: RunStore | None = None,
    **kw: timedelta,
) -> tuple[ScheduleRunner, RunStore]:
    s = Scheduler(default_schedule(), CAL, clock, **kw)
    st = store if store is not None else InMemoryRunStore()
    return ScheduleRunner(s, handlers or {}, st, clock), st


def test_runner_records_ok_failed_and_skipped_and_continues_after_a_failure() -> None:
    clock = SimClock(et(2025, 11, 24, 8, 30))
    calls: list[str] = []

    def ok(occ: Occurrence) -> str:
        calls.append(occ.task.name)
        return f"{occ.task.name} done"

    def boom(occ: Occurrence) -> None:
        calls.append(occ.task.name)
        raise RuntimeError("feature store unavailable")

    def nothing(occ: Occurrence) -> None:
        calls.append(occ.task.name)
        raise SkipTask("no model to check")

    runner, store = make_runner(
        clock, {"pre_market.features": boom, "universe_refresh": ok, "pre_market.model_check": nothing}
    )
    records = runner.run_pending()
    assert calls == ["pre_market.features", "pre_market.universe", "pre_market.model_check"]
    assert [(r.task, r.status, r.detail) for r in records] == [
        ("pre_market.features", RunStatus.FAILED, "RuntimeError: feature store unavailable"),
        ("pre_market.universe", RunStatus.OK, "pre_market.universe done"),
        ("pre_market.model_check", RunStatus.SKIPPED, "no model to check"),
    ]
    assert store.list() == records
    assert all(r.session == date(2025, 11, 24) and r.started == clock.now() for r in records)
    # Handled (even the failure): running again at the same time does nothing.
    assert runner.run_pending() == []
    clock.set(et(2025, 11, 24, 9, 30))
    [monitor] = runner.run_pending()
    assert (monitor.task, monitor.status, monitor.detail) == (
        "monitor",
        RunStatus.SKIPPED,
        "no handler for 'monitor'",
    )


def test_runner_start_up_records_missed_runs_and_runs_the_catch_up() -> None:
    clock = SimClock(et(2025, 11, 24, 15, 55))
    seen: list[str] = []

    def flatten(occ: Occurrence) -> str:
        seen.append(occ.task.name)
        return "flat"

    runner, store = make_runner(clock, {"flatten": flatten})
    for occ in runner.scheduler.occurrences(et(2025, 11, 17), et(2025, 11, 24, 15, 0)):
        store.record(TaskRun(occ.task.name, occ.due, occ.due, occ.due, RunStatus.OK, session=occ.session))
    records = runner.run_pending()
    assert seen == ["flatten.2"]
    by_status = Counter(r.status for r in records)
    assert by_status[RunStatus.OK] == 1 and by_status[RunStatus.MISSED] == len(records) - 1
    assert store.last_run("flatten.1") == TaskRun(
        "flatten.1",
        et(2025, 11, 24, 15, 30),
        clock.now(),
        clock.now(),
        RunStatus.MISSED,
        "superseded by flatten.2",
        date(2025, 11, 24),
    )


def test_drive_runs_a_simulated_day_in_order_at_each_due_time() -> None:
    start, end = et(2025, 11, 23, 12, 0), et(2025, 11, 25, 3, 0)
    clock = SimClock(start)
    fired: list[tuple[str, datetime]] = []

    def handler(occ: Occurrence) -> str:
        fired.append((occ.task.name, clock.now()))
        if occ.task.name == "trade.trident" and hm(occ.due) == "10:00":
            raise ValueError("stale chain")
        return "ok"

    names = {spec.name for spec in default_schedule()}
    runner, store = make_runner(clock, dict.fromkeys(names, handler))
    records = runner.drive(clock, end)
    expected = runner.scheduler.occurrences(start, end + timedelta(microseconds=1))
    assert [(o.task.name, o.due) for o in expected] == fired
    assert [(r.task, r.due) for r in records] == fired
    assert [r.task for r in records if r.status is RunStatus.FAILED] == ["trade.trident"]
    assert Counter(r.status for r in records)[RunStatus.OK] == len(records) - 1
    assert {name for name, _ in fired} == names  # every default task, weekly and nightly included
    assert fired[0] == ("weekly.refresh", et(2025, 11, 23, 22, 0))
    assert fired[-1] == ("nightly.retrain", et(2025, 11, 25, 2, 0))
    assert clock.now() == end
    assert store.list() == records


def test_drive_starts_with_a_catch_up_and_skips_what_a_slow_handler_made_late() -> None:
    clock = SimClock(et(2025, 11, 24, 15, 52))
    seen: list[tuple[str, str]] = []

    def flatten(occ: Occurrence) -> None:
        seen.append((occ.task.name, hm(clock.now())))
        clock.advance(timedelta(minutes=15))  # a slow flatten: 16:00 monitoring becomes late

    runner, _ = make_runner(
        clock, {"flatten": flatten, "monitor": lambda o: None}, first_lookback=timedelta(minutes=30)
    )
    records = runner.drive(clock, et(2025, 11, 24, 16, 30))
    assert seen == [("flatten.2", "15:52")]
    assert [(r.task, hm(r.due), hm(r.started), r.status) for r in records] == [
        ("flatten.1", "15:30", "15:52", RunStatus.MISSED),
        ("monitor", "15:30", "15:52", RunStatus.MISSED),
        ("monitor", "15:40", "15:52", RunStatus.MISSED),
        ("flatten.2", "15:50", "15:52", RunStatus.OK),
        ("monitor", "15:50", "16:07", RunStatus.MISSED),  # held up past its grace: re-planned late
        ("monitor", "16:00", "16:07", RunStatus.MISSED),
        ("snapshot.positions", "16:05", "16:07", RunStatus.SKIPPED),  # within its grace
    ]
    assert clock.now() == et(2025, 11, 24, 16, 30)


# -- run stores ----------------------------------------------------------------------------------
@pytest.fixture(params=["memory", "sqlite"])
def run_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "memory":
        yield InMemoryRunStore()
        return
    store = SqliteRunStore(tmp_path / "ledger.db")
    yield store
    store.close()


def a_run(task: str, due: datetime, status: RunStatus = RunStatus.OK, detail: str | None = None) -> TaskRun:
    return TaskRun(
        task, due, due, due + timedelta(seconds=3), status, detail, due.astimezone(NEW_YORK).date()
    )


def test_run_store_contract(run_store: RunStore) -> None:
    assert isinstance(run_store, RunStore)
    assert run_store.last_run("monitor") is None and run_store.list() == []
    late = a_run("monitor", et(2025, 11, 24, 9, 40), RunStatus.MISSED, "late")
    early = a_run("monitor", et(2025, 11, 24, 9, 30))
    other = a_run("labels.complete", et(2025, 11, 24, 17, 30), RunStatus.FAILED, "boom")
    for r in (late, early, other):
        run_store.record(r)
    assert run_store.last_run("monitor") == late  # latest due, not latest recorded
    assert run_store.list() == [early, late, other]
    assert run_store.list("monitor", since=et(2025, 11, 24, 9, 35)) == [late]
    again = a_run("monitor", et(2025, 11, 24, 9, 40), RunStatus.OK, "rerun")
    run_store.record(again)
    assert run_store.last_run("monitor") == again  # equal due: the last recorded
    nightly = TaskRun(
        "weekly.refresh", et(2025, 11, 23, 22), et(2025, 11, 23, 22), et(2025, 11, 23, 23), RunStatus.OK
    )
    run_store.record(nightly)
    assert run_store.last_run("weekly.refresh") == nightly


def test_sqlite_run_store_survives_a_restart_and_shares_the_ledger_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    clock = SimClock(et(2025, 11, 24, 8, 30))
    ledger = SqliteLedger(path, clock)
    store = SqliteRunStore(path)
    runner, _ = make_runner(clock, {}, store=store)
    first = runner.run_pending()
    assert len(first) == 3
    store.close()
    reopened = SqliteRunStore(path)
    assert reopened.list() == first
    runner2, _ = make_runner(clock, {}, store=reopened)
    assert runner2.run_pending() == []  # nothing runs twice after a restart
    reopened.close()
    ledger.close()
