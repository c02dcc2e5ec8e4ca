"""The desk's scheduler, pure: task specs, the planner, run records and the runner."""

from core.scheduling.defaults import default_schedule
from core.scheduling.planner import CatchUp, MissedRun, Occurrence, Scheduler
from core.scheduling.runner import Handler, ScheduleRunner, SkipTask
from core.scheduling.runs import InMemoryRunStore, RunStatus, RunStore, TaskRun
from core.scheduling.tasks import (
    ACCOUNT,
    DESK,
    AtClock,
    AtSessionTime,
    Every,
    MissedRunPolicy,
    Nightly,
    SessionTime,
    TaskSpec,
    ValidUntil,
    Weekly,
)

__all__ = [
    "ACCOUNT",
    "DESK",
    "AtClock",
    "AtSessionTime",
    "CatchUp",
    "Every",
    "Handler",
    "InMemoryRunStore",
    "MissedRun",
    "MissedRunPolicy",
    "Nightly",
    "Occurrence",
    "RunStatus",
    "RunStore",
    "ScheduleRunner",
    "Scheduler",
    "SessionTime",
    "SkipTask",
    "TaskRun",
    "TaskSpec",
    "ValidUntil",
    "Weekly",
    "default_schedule",
]
