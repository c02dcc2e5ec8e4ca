"""``Scheduler``: the pure planner. Which occurrences exist, which are due, what a late one becomes.

Nothing here runs a task or reads the wall clock: ``now`` is passed in (or read from the
injected clock). ``last_runs`` maps a task name to the due time of its latest handled
occurrence (run, skipped or recorded missed); anything after it is pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock, ensure_utc
from core.errors import InvalidValue
from core.scheduling.tasks import MissedRunPolicy, TaskSpec, ValidUntil

__all__ = ["CatchUp", "MissedRun", "Occurrence", "Scheduler"]

_TICK = timedelta(microseconds=1)
_DAY = timedelta(days=1)
# next_due looks ahead in windows of this size, up to _HORIZON, before giving up.
_WINDOW = timedelta(days=8)
_HORIZON = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One firing of a task: when it is due (UTC) and the session it belongs to."""

    task: TaskSpec
    due: datetime
    session: date | None


@dataclass(frozen=True, slots=True)
class MissedRun:
    """An occurrence that will not run, and why."""

    occurrence: Occurrence
    reason: str


class CatchUp(NamedTuple):
    """The plan for ``now``: occurrences to run (in order) and occurrences to record missed."""

    run: list[Occurrence]
    missed: list[MissedRun]


class Scheduler:
    """Plans ``specs`` on ``calendar``. Spec order breaks ties between equal due times.

    ``lookback`` bounds how far back pending occurrences are looked for: older ones are
    neither run nor recorded. A task with no handled occurrence yet (a new desk, a new task) was
    never "missed": it looks back only ``first_lookback``, or its grace if that is longer.
    """

    def __init__(
        self,
        specs: Sequence[TaskSpec],
        calendar: MarketCalendar,
        clock: Clock,
        lookback: timedelta = timedelta(days=7),
        first_lookback: timedelta = timedelta(0),
    ) -> None:
        self._order: dict[str, int] = {}
        for i, spec in enumerate(specs):
            if spec.name in self._order:
                raise InvalidValue(f"duplicate task name {spec.name!r}")
            self._order[spec.name] = i
        if lookback <= timedelta(0) or first_lookback < timedelta(0):
            raise InvalidValue(f"bad lookback {lookback} / first_lookback {first_lookback}")
        self.specs: tuple[TaskSpec, ...] = tuple(specs)
        self.calendar = calendar
        self.clock = clock
        self.lookback = lookback
        self.first_lookback = first_lookback

    def _now(self, now: datetime | None) -> datetime:
        return ensure_utc(self.clock.now() if now is None else now)

    def _key(self, occ: Occurrence) -> tuple[datetime, int]:
        return occ.due, self._order[occ.task.name]

    # -- what exists ------------------------------------------------------------------------
    def occurrences(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences with ``start <= due < end``, by due time then spec order."""
        start, end = ensure_utc(start), ensure_utc(end)
        if end <= start:
            return []
        # A Nightly firing falls on the day after the session it belongs to.
        day = to_new_york(start).date() - _DAY
        last_day = to_new_york(end).date()
        found: list[Occurrence] = []
        while day <= last_day:
            for spec in self.specs:
                for due, session in spec.trigger.fire(day, self.calendar):
                    if start <= due < end:
                        found.append(Occurrence(spec, due, session))
            day += _DAY
        return sorted(found, key=self._key)

    def due(
        self, now: datetime | None = None, last_runs: Mapping[str, datetime] | None = None
    ) -> list[Occurrence]:
        """Pending occurrences: due at or before ``now`` (within ``lookback``), after the last run."""
        now = self._now(now)
        handled = last_runs or {}

        def pending(occ: Occurrence) -> bool:
            last = handled.get(occ.task.name)
            if last is None:
                return now - occ.due <= max(self.first_lookback, occ.task.grace)
            return occ.due > ensure_utc(last)

        return [occ for occ in self.occurrences(now - self.lookback, now + _TICK) if pending(occ)]

    def next_due(self, now: datetime | None = None) -> Occurrence | None:
        """The first occurrence strictly after ``now``; ``None`` if none within ~a year."""
        start = self._now(now) + _TICK
        end = start + _HORIZON
        while start < end:
            found = self.occurrences(start, start + _WINDOW)
            if found:
                return found[0]
            start += _WINDOW
        return None

    # -- what a pending occurrence becomes ---------------------------------------------------
    def catch_up(
        self, now: datetime | None = None, last_runs: Mapping[str, datetime] | None = None
    ) -> CatchUp:
        """Split the pending occurrences into runs and missed runs (see docs/scheduling.md).

        On time (at most ``grace`` late): run. Late: the task's ``MissedRunPolicy`` decides.
        Then at most one run per (kind, applies_to, session) remains, the latest: a late first
        flatten pass is superseded by the second, never run twice.
        """
        now = self._now(now)
        pending: dict[str, list[Occurrence]] = {}
        for occ in self.due(now, last_runs):
            pending.setdefault(occ.task.name, []).append(occ)
        run: list[Occurrence] = []
        missed: list[MissedRun] = []
        for occs in pending.values():
            self._plan_task(occs, now, run, missed)
        run, superseded = self._one_per_group(run)
        missed.extend(superseded)
        run.sort(key=self._key)
        missed.sort(key=lambda m: self._key(m.occurrence))
        return CatchUp(run, missed)

    def _plan_task(
        self, occs: list[Occurrence], now: datetime, run: list[Occurrence], missed: list[MissedRun]
    ) -> None:
        spec = occs[0].task
        if spec.catch_up is MissedRunPolicy.RUN_ALL:
            run.extend(occs)
            return
        on_time = [o for o in occs if now - o.due <= spec.grace]
        late = [o for o in occs if now - o.due > spec.grace]
        run.extend(on_time)
        if not late:
            return
        if spec.catch_up is MissedRunPolicy.SKIP:
            missed.extend(MissedRun(o, "late: this task never runs late") for o in late)
            return
        *older, latest = late
        missed.extend(MissedRun(o, "superseded by a later occurrence") for o in older)
        if on_time:
            missed.append(MissedRun(latest, "superseded by a later occurrence"))
            return
        reason = self._why_not(latest, now)
        if reason is None:
            run.append(latest)
        else:
            missed.append(MissedRun(latest, reason))

    def _why_not(self, occ: Occurrence, now: datetime) -> str | None:
        """Why a late RUN_ONCE / RUN_IF_STILL_OPEN occurrence may not run now (``None``: it may)."""
        rule = occ.task.valid_until
        if occ.task.catch_up is MissedRunPolicy.RUN_IF_STILL_OPEN:
            rule = ValidUntil.SESSION_CLOSE
        if rule is ValidUntil.NEXT_OCCURRENCE:
            return None
        if rule is ValidUntil.SESSION_CLOSE and occ.session is not None:
            _, market_close = self.calendar.session_open_close(occ.session)
            return None if now < market_close else f"expired: session {occ.session} closed"
        next_open = self.calendar.next_open(occ.due)
        return None if now < next_open else "expired: the next session has opened"

    def _one_per_group(self, run: list[Occurrence]) -> tuple[list[Occurrence], list[MissedRun]]:
        keep: dict[tuple[str, str, date | None], Occurrence] = {}
        free: list[Occurrence] = []
        for occ in sorted(run, key=self._key):
            if occ.task.catch_up is MissedRunPolicy.RUN_ALL:
                free.append(occ)
                continue
            keep[(occ.task.kind, occ.task.applies_to, occ.session)] = occ
        kept = set(keep.values())
        superseded = [
            MissedRun(
                occ, f"superseded by {keep[(occ.task.kind, occ.task.applies_to, occ.session)].task.name}"
            )
            for occ in run
            if occ not in kept and occ.task.catch_up is not MissedRunPolicy.RUN_ALL
        ]
        return free + list(kept), superseded
