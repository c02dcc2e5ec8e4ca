"""The desk's schedule from settings: task groups in seed 001's shape over the default schedule.

A group (``[scheduler.tasks.pre_market]``) has a time, a list of actions and ``enabled``. Each
action becomes one task named ``<group>.<action>`` whose kind is the action, so the desk's
handlers (keyed by kind) run it. A group named like a default group (the first part of the
default tasks' names: ``pre_market``, ``trade``, ``flatten``, ``monitor``, ``snapshot``,
``labels``, ``health``, ``report``, ``nightly``, ``weekly``) replaces that group's tasks;
``enabled = false`` removes them; any other name adds a group.

Times (New York wall times, the exchange's zone; sessions follow the calendar's holidays and
early closes):

* ``"08:30"``: on every session at that wall time;
* ``"open"``, ``"open+15m"``, ``"close-10m"``, ``"close+2h"``: relative to the day's real open
  or close (an early close moves it);
* ``"nightly 02:00"``: once after each session, before the next open;
* ``"sun 22:00"`` (``mon`` … ``sun``): weekly, whatever the calendar;
* with ``every = "10m"``: repeated from ``time`` to ``until`` (default ``"close"``) on each
  session.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta

from core.errors import InvalidValue
from core.scheduling.tasks import ACCOUNT, DESK, MissedRunPolicy, TaskSpec, ValidUntil
from core.scheduling.triggers import (
    Anchor,
    AtClock,
    AtSessionTime,
    Every,
    Nightly,
    SessionPoint,
    SessionTime,
    Trigger,
    Weekly,
)

__all__ = ["ACTIONS", "TaskGroup", "build_schedule", "parse_duration", "parse_when", "task_group"]

STRATEGY = "strategy"
"""``ActionRule.applies_to`` placeholder: the group's ``strategy``."""


@dataclass(frozen=True, slots=True)
class ActionRule:
    """Who an action applies to and what a missed run of it becomes."""

    applies_to: str
    catch_up: MissedRunPolicy
    valid_until: ValidUntil = ValidUntil.NEXT_OCCURRENCE


_ONCE = MissedRunPolicy.RUN_ONCE
ACTIONS: Mapping[str, ActionRule] = {
    "feature_refresh": ActionRule(DESK, _ONCE, ValidUntil.SESSION_CLOSE),
    "universe_refresh": ActionRule(DESK, _ONCE, ValidUntil.SESSION_CLOSE),
    "model_check": ActionRule(DESK, _ONCE, ValidUntil.SESSION_CLOSE),
    "trading_cycle": ActionRule(STRATEGY, MissedRunPolicy.SKIP),
    "options_cycle": ActionRule(STRATEGY, MissedRunPolicy.SKIP),
    "flatten": ActionRule(ACCOUNT, MissedRunPolicy.RUN_IF_STILL_OPEN),
    "monitor": ActionRule(ACCOUNT, MissedRunPolicy.SKIP),
    "position_snapshot": ActionRule(ACCOUNT, _ONCE, ValidUntil.NEXT_OPEN),
    "label_completion": ActionRule(DESK, _ONCE),
    "health_check": ActionRule(DESK, _ONCE, ValidUntil.NEXT_OPEN),
    "daily_report": ActionRule(DESK, _ONCE),
    "backup": ActionRule(DESK, _ONCE, ValidUntil.NEXT_OPEN),
    "retrain": ActionRule(DESK, _ONCE, ValidUntil.NEXT_OPEN),
    "weekly_refresh": ActionRule(DESK, _ONCE, ValidUntil.NEXT_OPEN),
}
"""The actions a schedule may name, with who they apply to and their catch-up rule."""

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+)([mh])$")
_SESSION = re.compile(r"^(open|close)(?:([+-])(\d+[mh]))?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> timedelta:
    """``"15m"`` or ``"2h"`` as a positive ``timedelta``."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidValue(f"{text!r} is not a duration like '15m' or '2h'")
    amount = int(match.group(1))
    return timedelta(minutes=amount) if match.group(2) == "m" else timedelta(hours=amount)


def _clock(text: str) -> time:
    match = _CLOCK.match(text)
    if not match:
        raise InvalidValue(f"{text!r} is not a 24-hour time like '08:30'")
    return time(int(match.group(1)), int(match.group(2)))


def _point(text: str) -> SessionPoint:
    match = _SESSION.match(text)
    if match is None:
        return _clock(text)
    anchor: Anchor = "open" if match.group(1) == "open" else "close"
    sign, amount = match.group(2), match.group(3)
    offset = parse_duration(amount) if amount else timedelta(0)
    return SessionTime(anchor, -offset if sign == "-" else offset)


def parse_when(when: str, every: str | None = None, until: str | None = None) -> Trigger:
    """The trigger of a schedule time (see the module doc); ``InvalidValue`` says what is wrong."""
    text = " ".join(when.strip().lower().split())
    words = text.split(" ")
    if every is not None:
        if len(words) != 1:
            raise InvalidValue(f"{when!r}: a repeated task starts at a session time like 'open+15m'")
        return Every(parse_duration(every), _point(text), _point(until or "close"))
    if until is not None:
        raise InvalidValue("'until' needs 'every'")
    if len(words) == 2 and words[0] == "nightly":
        return Nightly(_clock(words[1]))
    if len(words) == 2 and words[0] in _WEEKDAYS:
        return Weekly(_WEEKDAYS.index(words[0]), _clock(words[1]))
    if len(words) != 1:
        raise InvalidValue(
            f"{when!r} is not a time like '08:30', 'close-10m', 'nightly 02:00' or 'sun 22:00'"
        )
    point = _point(text)
    return AtClock(point) if isinstance(point, time) else AtSessionTime(point.anchor, point.offset)


@dataclass(frozen=True, slots=True)
class TaskGroup:
    """One configured group: its tasks, or none when disabled."""

    name: str
    enabled: bool
    tasks: tuple[TaskSpec, ...]


def task_group(
    name: str,
    when: str,
    actions: Sequence[str],
    enabled: bool = True,
    strategy: str | None = None,
    every: str | None = None,
    until: str | None = None,
) -> TaskGroup:
    """The tasks of group ``name``; ``InvalidValue`` names the part that is wrong."""
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise InvalidValue(f"group name {name!r}: lower case letters, digits and '_'")
    try:
        trigger = parse_when(when, every, until)
    except InvalidValue as exc:
        raise InvalidValue(f"time: {exc}") from None
    if not actions:
        raise InvalidValue("actions: name at least one action")
    tasks = []
    for i, action in enumerate(actions):
        rule = ACTIONS.get(action)
        if rule is None:
            raise InvalidValue(
                f"actions[{i}]: unknown action {action!r} (known: {', '.join(sorted(ACTIONS))})"
            )
        applies_to = rule.applies_to
        if applies_to == STRATEGY:
            if not strategy:
                raise InvalidValue(f"actions[{i}]: {action!r} needs the group's 'strategy'")
            applies_to = strategy
        tasks.append(
            TaskSpec(f"{name}.{action}", action, trigger, applies_to, rule.catch_up, rule.valid_until)
        )
    return TaskGroup(name, enabled, tuple(tasks))


def build_schedule(defaults: Sequence[TaskSpec], groups: Sequence[TaskGroup]) -> list[TaskSpec]:
    """``defaults`` with the configured ``groups`` applied (replace, remove or add by group name).

    A replacing group takes the place of the default group it replaces (the order breaks ties
    between tasks due at the same instant); an added group's tasks follow, in the order configured.
    """
    configured = {g.name: g for g in groups}
    schedule: list[TaskSpec] = []
    placed: set[str] = set()
    for task in defaults:
        group = configured.get(task.name.split(".", 1)[0])
        if group is None:
            schedule.append(task)
        elif group.name not in placed:
            placed.add(group.name)
            schedule.extend(group.tasks if group.enabled else ())
    for group in groups:
        if group.name not in placed and group.enabled:
            schedule.extend(group.tasks)
    names = [t.name for t in schedule]
    if len(names) != len(set(names)):
        raise InvalidValue(
            f"duplicate task names in the schedule: {sorted({n for n in names if names.count(n) > 1})}"
        )
    return schedule
