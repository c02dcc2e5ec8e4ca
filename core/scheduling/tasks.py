"""Task kinds as data: what runs, when, for whom, and what happens to a missed run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from core.errors import InvalidValue
from core.scheduling.triggers import (
    AtClock,
    AtSessionTime,
    Every,
    Nightly,
    SessionTime,
    Trigger,
    Weekly,
)

__all__ = [
    "ACCOUNT",
    "DESK",
    "AtClock",
    "AtSessionTime",
    "Every",
    "MissedRunPolicy",
    "Nightly",
    "SessionTime",
    "TaskSpec",
    "Trigger",
    "ValidUntil",
    "Weekly",
]

DESK = "desk"
"""``applies_to`` for desk-wide work (one run for the whole desk)."""
ACCOUNT = "account"
"""``applies_to`` for work every account actor does (the shell fans it out)."""


class MissedRunPolicy(StrEnum):
    """What a run missed while the desk was down (or late past its grace) becomes."""

    RUN_ONCE = "run_once"
    """Run the latest missed occurrence once if still valid (``ValidUntil``); the rest: missed."""
    SKIP = "skip"
    """Never run late: every late occurrence is recorded missed."""
    RUN_IF_STILL_OPEN = "run_if_still_open"
    """Run the latest missed occurrence once if its session is still open; else missed."""
    RUN_ALL = "run_all"
    """Run every missed occurrence, oldest first."""


class ValidUntil(StrEnum):
    """How long a missed ``RUN_ONCE`` occurrence is still worth running."""

    SESSION_CLOSE = "session_close"
    """Until the close of its session (pre-market work still serves the rest of the day)."""
    NEXT_OPEN = "next_open"
    """Until the next session opens (a retrain or a health check must not run into trading)."""
    NEXT_OCCURRENCE = "next_occurrence"
    """Until the task's next occurrence supersedes it: the latest missed one always runs."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One scheduled task.

    ``name`` is unique; ``kind`` says what to do (several specs may share one, e.g. the two
    flatten passes). ``applies_to`` is ``"desk"``, ``"account"`` or a strategy name. An
    occurrence later than ``grace`` is late and goes through ``catch_up``.
    """

    name: str
    kind: str
    trigger: Trigger
    applies_to: str
    catch_up: MissedRunPolicy
    valid_until: ValidUntil = ValidUntil.NEXT_OCCURRENCE
    grace: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if not self.name or not self.kind or not self.applies_to:
            raise InvalidValue(f"task needs a name, a kind and applies_to: {self!r}")
        if self.grace < timedelta(0):
            raise InvalidValue(f"task {self.name}: grace must not be negative, got {self.grace}")
