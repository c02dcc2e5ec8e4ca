"""``replay_kernel``: stored sessions through one account's kernel, in this process (no Ray).

The same steps the desk's actors take, in the same order: each minute the session's quotes go
to the quote cache, the account's part of the minute event (and, with the first minute, the
previous session's daily bars) to the kernel, then the account's scheduled work due by then
(monitoring, the flatten passes, the Trident cycle); after the close the position snapshot and
the daily report. Broker engineers run a pinned session through their simulator with it:
``open_broker`` builds the account's ``BrokerClients`` for each session's clock (default: the
account's own, ``adapters.account.wiring.open_broker``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Final

from adapters.account.spec import AccountSpec
from adapters.account.wiring import compose_kernel, open_broker
from adapters.brokers.factory import BrokerClients
from adapters.ledger.task_runs import SqliteRunStore
from adapters.market.session import SessionBars
from adapters.store import BarStore
from core.calendar import MarketCalendar
from core.clock import Clock, SimClock
from core.errors import ConfigError
from core.ports.scorer import Scorer
from core.scheduling import Scheduler, ScheduleRunner, TaskSpec, default_schedule
from core.trading.kernel import AccountKernel
from core.trading.outcomes import AccountAudit
from core.trading.schedule import account_handlers

AFTER_CLOSE: Final = timedelta(minutes=121)
"""How far past the close the account's schedule runs: through the daily report."""

BrokerOpener = Callable[[Clock], BrokerClients]


def replay_kernel(
    spec: AccountSpec,
    sessions: Sequence[date],
    open_clients: BrokerOpener | None = None,
    scorer: Scorer | None = None,
    schedule: Sequence[TaskSpec] | None = None,
) -> AccountAudit:
    """Replay ``sessions`` (bars from ``spec.data_dir``) through the kernel of ``spec``; the
    venue and the ledger side by side after the last one. Each session opens a fresh kernel on
    its own clock over the same state (as a restarted actor would): recovery runs every time.
    ``schedule``: the desk's (``settings.scheduler.schedule()``; default ``default_schedule()``)."""
    if spec.data_dir is None:
        raise ConfigError(f"accounts.{spec.account.id}: replay_kernel needs stored bars (spec.data_dir)")
    calendar = MarketCalendar()
    store = BarStore(spec.data_dir)
    feeds = spec.feeds()
    symbols = sorted({s for symbols in feeds.values() for s in symbols})
    spec.account_dir.mkdir(parents=True, exist_ok=True)
    runs = SqliteRunStore(spec.account_dir / "task_runs.sqlite3")
    audit: AccountAudit | None = None
    try:
        for day in sessions:
            open_, close = calendar.session_open_close(day)
            clock = SimClock(open_)
            session_spec = replace(spec, start=open_)
            clients = open_clients(clock) if open_clients is not None else open_broker(session_spec, clock)
            kernel = compose_kernel(session_spec, clients, clock, scorer)
            try:
                kernel.start()
                bars = SessionBars(store, day, symbols)
                _session(kernel, bars, feeds, runs, close + AFTER_CLOSE, schedule)
                audit = kernel.audit()
            finally:
                kernel.close()
    finally:
        runs.close()
    if audit is None:
        raise ConfigError("replay_kernel: no session given")
    return audit


def _session(
    kernel: AccountKernel,
    bars: SessionBars,
    feeds: Mapping[str, Sequence[str]],
    runs: SqliteRunStore,
    until: datetime,
    schedule: Sequence[TaskSpec] | None = None,
) -> None:
    wanted = {tf: frozenset(symbols) for tf, symbols in feeds.items()}
    instants = bars.instants
    if not instants:
        return
    clock = SimClock(kernel.ports.clock.now())  # the scheduler's, from the session's open
    handlers = account_handlers(lambda method, args: {"kernel": getattr(kernel, method)(*args)})
    specs = list(schedule) if schedule is not None else default_schedule()
    runner = ScheduleRunner(Scheduler(specs, MarketCalendar(), clock), handlers, runs, clock)
    for at in instants:
        event = bars.minute(at)
        if event is not None:
            kernel.ports.quotes.put_many(event.quotes)
            if "1m" in wanted and not (part := event.only(wanted["1m"])).bars.is_empty():
                kernel.on_bars(part)
        daily = bars.daily_at(at)
        if daily is not None and "1d" in wanted and not (part := daily.only(wanted["1d"])).bars.is_empty():
            kernel.on_bars(part)
        clock.set(at)
        runner.tick()
    while (wake := runner.next_wake()) is not None and wake <= until:
        clock.set(wake)
        runner.tick()
