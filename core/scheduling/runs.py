"""Run records and where they are kept: the ``RunStore`` port and an in-memory store."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.clock import ensure_utc

__all__ = ["InMemoryRunStore", "RunStatus", "RunStore", "TaskRun"]


class RunStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class TaskRun:
    """What happened to one occurrence. A missed run has ``started == finished`` = when recorded."""

    task: str
    due: datetime
    started: datetime
    finished: datetime
    status: RunStatus
    detail: str | None = None
    session: date | None = None

    def __post_init__(self) -> None:
        for name in ("due", "started", "finished"):
            object.__setattr__(self, name, ensure_utc(getattr(self, name)))


@runtime_checkable
class RunStore(Protocol):
    """Durable record of task runs; every recorded occurrence counts as handled."""

    def record(self, run: TaskRun) -> None:
        """Append ``run``."""
        ...

    def last_run(self, task: str) -> TaskRun | None:
        """The run of ``task`` with the latest due time (ties: the last recorded)."""
        ...

    def list(self, task: str | None = None, since: datetime | None = None) -> builtins.list[TaskRun]:
        """Runs (of ``task``, due at or after ``since``) by due time, then recording order."""
        ...


class InMemoryRunStore:
    """A ``RunStore`` in a list: tests and the embedded simulation."""

    def __init__(self) -> None:
        self._runs: builtins.list[TaskRun] = []

    def record(self, run: TaskRun) -> None:
        self._runs.append(run)

    def last_run(self, task: str) -> TaskRun | None:
        last: TaskRun | None = None
        for run in self._runs:
            if run.task == task and (last is None or run.due >= last.due):
                last = run
        return last

    def list(self, task: str | None = None, since: datetime | None = None) -> builtins.list[TaskRun]:
        floor = None if since is None else ensure_utc(since)
        chosen = [
            r for r in self._runs if (task is None or r.task == task) and (floor is None or r.due >= floor)
        ]
        return sorted(chosen, key=lambda r: r.due)
