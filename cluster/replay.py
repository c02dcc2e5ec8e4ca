"""``replay_session``: one stored session through the desk's actors, as fast as it can go.

The driver walks a simulated clock over the session's minutes. Each minute the market-data
actor publishes quotes and bars (and returns once every account processed them; the first
minute also carries the previous session's daily bars), then the scheduler runs what is due
(monitoring, the flatten passes). An account actor that dies
mid-step is waited for (Ray restarts it, its start-up reconciles) and the same step is sent
to it again: its feed cursor and the ``ClientOrderId`` make the retry harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from actors.market_data import MarketStep
from actors.scheduler import wait_alive
from cluster.runtime import connect
from cluster.supervisor import Desk, Supervisor
from configs import Settings
from configs.notifications import NotificationsConfig
from core.calendar import MarketCalendar
from core.scheduling.runs import TaskRun
from core.trading.options import OptionsSpec
from core.trading.outcomes import AccountAudit

StepHook = Callable[[int, datetime, Desk], None]
"""Called before each minute is published (tests inject faults here)."""

RESTART_TIMEOUT_S = 60.0
AFTER_CLOSE = timedelta(minutes=121)
"""How far past the close a replay runs the scheduler: through the daily report."""
MAX_ATTEMPTS = 5


class ReplayError(RuntimeError):
    """An account could not process a step even after Ray restarted it."""


AccountResult = AccountAudit
"""One account after the replay: venue and ledger side by side."""


@dataclass
class ReplayResult:
    session: date
    steps: int
    wall_s: float
    retries: int
    accounts: dict[str, AccountResult]
    task_runs: list[TaskRun] = field(default_factory=list)
    step_results: list[MarketStep] = field(default_factory=list)


def replay_session(
    settings: Settings,
    session: date,
    *,
    state_dir: Path,
    accounts: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    redis_url: str | None = None,
    scorer: str | None = None,
    crash_after_submits: Mapping[str, int] | None = None,
    on_step: StepHook | None = None,
    keep_actors: bool = False,
    keep_steps: bool = False,
    options: OptionsSpec | None = None,
    notify: NotificationsConfig | None = None,
    venue: str = "sim",
) -> ReplayResult:
    """Replay ``session`` (bars from ``settings.data.data_dir``) through the account actors."""
    connect()
    calendar = MarketCalendar()
    open_, _ = calendar.session_open_close(session)
    supervisor = Supervisor(
        settings,
        state_dir,
        start=open_,
        accounts=accounts,
        symbols=symbols,
        redis_url=redis_url,
        scorer=scorer,
        crash_after_submits=crash_after_submits,
        options=options,
        notify=notify,
        venue=venue,
    )
    started = time.perf_counter()
    desk = supervisor.up()
    try:
        return _drive(supervisor, desk, session, on_step, keep_steps, started)
    finally:
        if not keep_actors:
            supervisor.down()


def _drive(
    supervisor: Supervisor,
    desk: Desk,
    session: date,
    on_step: StepHook | None,
    keep_steps: bool,
    started: float,
) -> ReplayResult:
    import ray

    md, scheduler = desk.market_data, desk.scheduler
    instants: list[datetime] = ray.get(md.load.remote(session, list(supervisor.symbols)))
    subscribe_feeds(desk)
    retries = 0
    runs: list[TaskRun] = []
    steps: list[MarketStep] = []
    for i, at in enumerate(instants):
        if on_step is not None:
            on_step(i, at, desk)
        result, tries = publish_step(desk, partial(step_market, md, at))
        retries += tries
        if keep_steps:
            steps.append(result)
        runs += ray.get(scheduler.advance_to.remote(at))
    # The session's daily bars are not published at its close: the next session's first step
    # delivers them (acted on at that open). After the close: the position snapshot (close + 5) and the daily report (close + 120).
    _, close = MarketCalendar().session_open_close(session)
    runs += _after_close(scheduler, close + AFTER_CLOSE)
    results: dict[str, AccountAudit] = {
        name.split(":", 1)[1]: ray.get(h.audit.remote()) for name, h in desk.accounts.items()
    }
    return ReplayResult(session, len(instants), time.perf_counter() - started, retries, results, runs, steps)


def _after_close(scheduler: Any, until: datetime) -> list[TaskRun]:
    """Wake the scheduler at each task due by ``until``, on time (a late first run is skipped)."""
    import ray

    runs: list[TaskRun] = []
    while (wake := ray.get(scheduler.next_wake.remote())) is not None and wake <= until:
        runs += ray.get(scheduler.advance_to.remote(wake))
    return runs


def subscribe_feeds(desk: Desk) -> None:
    """Subscribe every account of ``desk`` to the bars it trades on (``AccountSpec.feeds``)."""
    import ray

    md = desk.market_data
    ray.get(
        [
            md.subscribe.remote(name, list(symbols), timeframe)
            for name, spec in desk.specs.items()
            for timeframe, symbols in sorted(spec.feeds().items())
        ]
    )


def step_market(md: Any, at: datetime, names: list[str] | None) -> Any:
    """The market-data actor's step of the minute completing at ``at`` (to ``names``, or all)."""
    return md.step.remote(at, names)


def publish_step(desk: Desk, send: Callable[[list[str] | None], Any]) -> tuple[MarketStep, int]:
    """Send a step; re-send it to accounts that died processing it once Ray restarted them."""
    import ray

    names: list[str] | None = None
    merged: MarketStep | None = None
    for attempt in range(MAX_ATTEMPTS):
        step: MarketStep = ray.get(send(names))
        if merged is None:
            merged = step
        else:
            merged.accounts.update(step.accounts)
            merged.daily.update(step.daily)
        errors = step.failures()
        broken = {a: f.detail for a, f in errors.items() if f.error != "actor_died"}
        if broken:
            raise ReplayError(f"step failed in {sorted(broken)}: {broken}")
        if not errors:
            return merged, attempt
        for name in sorted(errors):
            if not wait_alive(desk.accounts[name], RESTART_TIMEOUT_S):
                raise ReplayError(f"{name} did not come back within {RESTART_TIMEOUT_S:g}s")
        names = sorted(errors)
    raise ReplayError(f"accounts {names} failed the same step {MAX_ATTEMPTS} times")
