"""``ScheduleRunner``: runs what the planner says is due and records every outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from core.clock import Clock, SimClock, ensure_utc
from core.scheduling.planner import Occurrence, Scheduler
from core.scheduling.runs import RunStatus, RunStore, TaskRun

__all__ = ["Handler", "ScheduleRunner", "SkipTask"]

Handler = Callable[[Occurrence], str | None]
"""Does the work of an occurrence; the returned text becomes the run's detail."""


class SkipTask(Exception):
    """Raised by a handler when there is nothing to do: the run is recorded ``skipped``."""


class ScheduleRunner:
    """Runs due occurrences through ``handlers`` and records them in ``run_store``.

    A handler is looked up by task name, then by task kind (one handler can serve both
    flatten passes). A task without a handler is recorded ``skipped``. A failing handler is
    recorded ``failed`` with its exception and does not stop the others; the scheduler does
    not retry it (the next occurrence is the retry).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        handlers: Mapping[str, Handler],
        run_store: RunStore,
        clock: Clock,
    ) -> None:
        self.scheduler = scheduler
        self.handlers = dict(handlers)
        self.run_store = run_store
        self.clock = clock
        self.paused: dict[str, str] = {}
        """Paused tasks (by name, or a group's prefix such as ``pre_market``) and why."""

    def pause(self, task: str, reason: str) -> None:
        """Skip ``task`` (a task name or a group name) from now on, recording ``reason``."""
        names = {s.name for s in self.scheduler.specs}
        if task not in names and not any(n.startswith(f"{task}.") for n in names):
            raise KeyError(f"no scheduled task or group {task!r} (have {', '.join(sorted(names))})")
        self.paused[task] = reason

    def resume(self, task: str) -> bool:
        """Run ``task`` again; whether it was paused."""
        return self.paused.pop(task, None) is not None

    def _paused_why(self, name: str) -> str | None:
        for task, reason in self.paused.items():
            if name == task or name.startswith(f"{task}."):
                return f"paused: {reason}"
        return None

    def last_runs(self) -> dict[str, datetime]:
        """Due time of the latest handled occurrence of each task."""
        found: dict[str, datetime] = {}
        for spec in self.scheduler.specs:
            last = self.run_store.last_run(spec.name)
            if last is not None:
                found[spec.name] = last.due
        return found

    def run_pending(self, now: datetime | None = None) -> list[TaskRun]:
        """Record the missed occurrences, then run the due ones in order; returns the records.

        Once a handler has moved the clock past ``now`` the pass stops: what is left stays
        pending and is planned again at the new time (``tick`` does), so a trading cycle held up
        by a slow task is judged late rather than run on a stale plan.
        """
        now = ensure_utc(self.clock.now() if now is None else now)
        plan = self.scheduler.catch_up(now, self.last_runs())
        records: list[TaskRun] = []
        for miss in plan.missed:
            occ = miss.occurrence
            records.append(
                TaskRun(occ.task.name, occ.due, now, now, RunStatus.MISSED, miss.reason, occ.session)
            )
            self.run_store.record(records[-1])
        for i, occ in enumerate(plan.run):
            if i > 0 and self.clock.now() > now:
                break
            records.append(self._run(occ))
            self.run_store.record(records[-1])
        return records

    def _run(self, occ: Occurrence) -> TaskRun:
        handler = self.handlers.get(occ.task.name) or self.handlers.get(occ.task.kind)
        started = self.clock.now()
        detail: str | None
        if (why := self._paused_why(occ.task.name)) is not None:
            status, detail = RunStatus.SKIPPED, why
        elif handler is None:
            status, detail = RunStatus.SKIPPED, f"no handler for {occ.task.name!r}"
        else:
            try:
                status, detail = RunStatus.OK, handler(occ)
            except SkipTask as skip:
                status, detail = RunStatus.SKIPPED, str(skip) or None
            except Exception as exc:
                status, detail = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        return TaskRun(occ.task.name, occ.due, started, self.clock.now(), status, detail, occ.session)

    def tick(self) -> list[TaskRun]:
        """``run_pending`` at the clock's time, again while handlers moved the clock past more.

        The actor shell's loop: ``tick()``, then ``clock.sleep_until(next_wake())``.
        """
        records: list[TaskRun] = []
        while True:
            batch = self.run_pending(self.clock.now())
            records.extend(batch)
            if not batch or not self.scheduler.due(self.clock.now(), self.last_runs()):
                return records

    def next_wake(self) -> datetime | None:
        """When the next occurrence is due (strictly after the clock's time)."""
        upcoming = self.scheduler.next_due(self.clock.now())
        return None if upcoming is None else upcoming.due

    def drive(self, sim_clock: SimClock, until: datetime) -> list[TaskRun]:
        """Step ``sim_clock`` (the runner's clock) from occurrence to occurrence up to ``until``.

        Starts with a catch-up at the current simulated time and returns every record. A
        handler that advances the clock makes the occurrences it jumps over late.
        """
        until = ensure_utc(until)
        records = self.tick()

        def arm() -> None:
            wake = self.next_wake()
            if wake is not None and wake <= until:
                sim_clock.call_at(wake, step)

        def step() -> None:
            records.extend(self.tick())
            arm()

        arm()
        sim_clock.run_until(until)
        return records
