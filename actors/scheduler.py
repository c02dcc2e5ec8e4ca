"""``SchedulerActor`` (named ``scheduler``): the desk's ``ScheduleRunner`` behind Ray.

Its clock is a ``SimClock`` moved by ``advance_to``: a replay steps it with the simulated
session, ``raydesk run`` with the real time. Due tasks fan out to the account actors; runs are
recorded in the ledger file (``task_runs`` table).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import ray

from actors import NAMESPACE, SCHEDULER_NAME
from adapters.ledger.postgres import PostgresRunStore, is_postgres_url
from adapters.ledger.task_runs import SqliteRunStore
from core.calendar import MarketCalendar
from core.clock import Clock, SimClock
from core.scheduling import Scheduler, ScheduleRunner, TaskSpec, default_schedule
from core.scheduling.runs import RunStatus, TaskRun
from core.trading.outcomes import StepFailure
from core.trading.schedule import FanOut, account_handlers

RESTART_WAIT_S = 30.0
RETRAIN_COLLECT = "nightly.retrain.collect"
"""The run record of a finished nightly retrain, collected after the tick that noticed it."""


DeskFactory = Callable[[Clock, FanOut], Any]
"""Builds the desk tasks' handlers in this process: an object with ``handlers`` (by task name)
and ``poll()`` (records finished background work). The supervisor passes one in."""


class _SchedulerActor:
    def __init__(
        self,
        run_store_path: str,
        accounts: Sequence[str],
        start: datetime,
        desk: DeskFactory | None = None,
        schedule: Sequence[TaskSpec] | None = None,
    ) -> None:
        self.clock = SimClock(start)
        self.accounts = list(accounts)
        self._handles: dict[str, Any] = {}
        self._store = (
            PostgresRunStore(run_store_path)
            if is_postgres_url(run_store_path)
            else SqliteRunStore(Path(run_store_path))
        )
        handlers = account_handlers(self._fan_out)
        self._desk = desk(self.clock, self._fan_out) if desk is not None else None
        if self._desk is not None:
            handlers = {**handlers, **self._desk.handlers}
        specs = list(schedule) if schedule is not None else default_schedule()
        scheduler = Scheduler(specs, MarketCalendar(), self.clock)
        self.runner = ScheduleRunner(scheduler, handlers, self._store, self.clock)

    def advance_to(self, at: datetime) -> list[TaskRun]:
        """Move the clock to ``at`` and run every task due by then; returns the run records."""
        if at > self.clock.now():
            self.clock.set(at)
        runs = self.runner.tick()
        if self._desk is not None:
            now = self.clock.now()
            runs += [TaskRun(RETRAIN_COLLECT, now, now, now, RunStatus.OK, d) for d in self._desk.poll()]
        return runs

    def pause(self, task: str, reason: str) -> dict[str, str]:
        """Skip a task or a group (``ScheduleRunner.pause``); the paused tasks."""
        self.runner.pause(task, reason)
        return dict(self.runner.paused)

    def resume(self, task: str) -> dict[str, str]:
        self.runner.resume(task)
        return dict(self.runner.paused)

    def next_wake(self) -> datetime | None:
        return self.runner.next_wake()

    def ping(self) -> str:
        return "pong"

    def _handle(self, name: str) -> Any:
        if name not in self._handles:
            self._handles[name] = ray.get_actor(name, namespace=NAMESPACE)
        return self._handles[name]

    def _fan_out(self, method: str, args: tuple[Any, ...]) -> Mapping[str, Any]:
        refs = {a: getattr(self._handle(a), method).remote(*args) for a in self.accounts}
        results: dict[str, Any] = {}
        for account, ref in refs.items():
            try:
                results[account] = ray.get(ref)
            except ray.exceptions.RayActorError:
                # Died mid-call: Ray restarts it (recovery reconciles); run the task there once more.
                results[account] = self._retry(account, method, args)
        return results

    def _retry(self, account: str, method: str, args: tuple[Any, ...]) -> Any:
        handle = self._handle(account)
        if not wait_alive(handle, RESTART_WAIT_S):
            return StepFailure("actor_down", f"{account} did not come back in {RESTART_WAIT_S:g}s")
        try:
            return ray.get(getattr(handle, method).remote(*args))
        except ray.exceptions.RayError as exc:
            return StepFailure(type(exc).__name__, str(exc)[-600:])


def wait_alive(handle: Any, timeout_s: float) -> bool:
    """Ping ``handle`` until it answers or ``timeout_s`` (real seconds) pass."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(handle.ping.remote(), timeout=min(5.0, max(0.1, deadline - time.monotonic())))
            return True
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            time.sleep(0.1)
    return False


SchedulerActor: Any = ray.remote(num_cpus=0.05, max_restarts=-1, max_task_retries=0)(_SchedulerActor)


def spawn_scheduler(
    run_store_path: str | Path,
    accounts: Sequence[str],
    start: datetime,
    *,
    detached: bool = True,
    namespace: str = NAMESPACE,
    desk: DeskFactory | None = None,
    schedule: Sequence[TaskSpec] | None = None,
) -> Any:
    """The named scheduler actor (or the running one): ``run_store_path`` is the ledger's location
    (SQLite file or ``postgresql://`` URL), ``schedule`` the desk's (``settings.scheduler.schedule()``;
    default: ``default_schedule()``)."""
    options: dict[str, Any] = {"name": SCHEDULER_NAME, "namespace": namespace, "get_if_exists": True}
    if detached:
        options["lifetime"] = "detached"
    return SchedulerActor.options(**options).remote(
        str(run_store_path), list(accounts), start, desk, None if schedule is None else list(schedule)
    )
