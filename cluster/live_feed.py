"""``LiveFeed``: the market-data actor paced by the real clock (``raydesk run`` on the simulator).

A desk whose accounts all trade on the simulated exchange takes its bars from the synthetic
market that drives that exchange: ``synthetic_through`` makes sure the store holds the market up
to today's session (generating it, deterministic by seed, when it does not), and the feed then
publishes each minute of the session once the real clock has passed its close, exactly as a
replay does, only in real time. A desk started mid-session does not replay the morning: the
accounts warm up from the stored bars completed by then, and the feed starts with the minutes
of the last ``catch_up``.

Accounts on real brokers take their data from their brokers' streams, which need the broker
adapters; ``raydesk run`` says so when none of the accounts is simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial

from rich.console import Console

from actors.market_data import MarketStep
from adapters.store import BarStore
from cluster.replay import publish_step, step_market, subscribe_feeds
from cluster.supervisor import Desk
from cluster.synthetic import synthetic_config, write_synthetic
from configs import Settings
from core.calendar import MarketCalendar, to_new_york

CATCH_UP = timedelta(minutes=2)
"""How far back a feed started mid-session still publishes the minutes it missed."""


def synthetic_through(settings: Settings, day: date, console: Console) -> Settings:
    """``settings`` with the synthetic market reaching ``day``, written to the store if missing."""
    if settings.data.end >= day:
        return settings
    data = settings.data.model_copy(update={"end": day})
    extended = settings.model_copy(update={"data": data})
    store = BarStore(settings.data.data_dir)
    calendar = MarketCalendar()
    last = day if calendar.is_session(day) else calendar.previous_session(day)
    if store.read("1m", [settings.data.symbols[0]], start=last, end=last).is_empty():
        console.print(f"generating the synthetic market through {day} ({settings.data.data_dir})")
        write_synthetic(synthetic_config(extended), store, console)
    return extended


class LiveFeed:
    """Publishes, at each ``pump(now)``, the session's minutes completed by ``now`` not yet sent."""

    def __init__(
        self,
        desk: Desk,
        symbols: Sequence[str],
        prepare: Callable[[date], object] | None = None,
        calendar: MarketCalendar | None = None,
        catch_up: timedelta = CATCH_UP,
    ) -> None:
        self._desk = desk
        self._symbols = list(symbols)
        self._prepare = prepare
        self._calendar = calendar or MarketCalendar()
        self._catch_up = catch_up
        self._session: date | None = None
        self._pending: list[datetime] = []
        self.published = 0
        subscribe_feeds(desk)

    @property
    def session(self) -> date | None:
        return self._session

    def pump(self, now: datetime) -> list[MarketStep]:
        """Publish every minute completed by ``now`` (nothing outside a session); the step results."""
        import ray

        day = to_new_york(now).date()
        if not self._calendar.is_session(day):
            return []
        if day != self._session:
            if self._prepare is not None:
                self._prepare(day)
            instants: list[datetime] = ray.get(self._desk.market_data.load.remote(day, self._symbols))
            self._session = day
            self._pending = [t for t in instants if t > now - self._catch_up]
        results: list[MarketStep] = []
        while self._pending and self._pending[0] <= now:
            at = self._pending.pop(0)
            result, _ = publish_step(self._desk, partial(step_market, self._desk.market_data, at))
            results.append(result)
            self.published += 1
        return results

    def next_due(self) -> datetime | None:
        """The next minute the feed will publish (None until a session is loaded, or after its close)."""
        return self._pending[0] if self._pending else None
