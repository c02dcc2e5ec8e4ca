"""``MarketDataActor``: one per data source, named ``market-data:<source>``.

It loads a session's bars from the ``BarStore`` (``SessionBars``; live streaming comes later)
and, at each ``step(at)``, writes that minute's quotes (built once, in the event) to the Redis
quote cache and sends each subscribed account actor its part of the event, returning once all
of them processed it (lockstep, so a replay is deterministic). The step of the session's first
minute then sends the previous session's daily bars to the daily subscribers: a daily signal is
acted on at the next open. An account that died mid-event is reported, not retried: the driver
waits for Ray to restart it and calls ``step`` again for it (the event ``seq`` makes that safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ray

from actors import NAMESPACE, market_data_actor_name
from adapters.cache import RedisQuoteCache, client_from_url
from adapters.market.session import SessionBars
from adapters.store import BarStore
from core.clock import SimClock
from core.errors import TemporaryError
from core.messages import BarEvent
from core.trading.outcomes import EventOutcome, StepFailure


@dataclass(frozen=True, slots=True)
class Subscription:
    account: str
    symbols: frozenset[str]
    timeframe: str


@dataclass
class MarketStep:
    """One published minute: what each account made of it (and of the daily bars, if any)."""

    at: datetime
    bars: int = 0
    quoted: bool = False
    daily_bars: int = 0
    accounts: dict[str, EventOutcome | StepFailure] = field(default_factory=dict)
    daily: dict[str, EventOutcome | StepFailure] = field(default_factory=dict)

    def failures(self) -> dict[str, StepFailure]:
        parts = (self.accounts, self.daily)
        return {a: r for part in parts for a, r in part.items() if isinstance(r, StepFailure)}


class _MarketDataActor:
    def __init__(self, source: str, data_dir: str, redis_url: str) -> None:
        self.source = source
        self.store = BarStore(Path(data_dir))
        self._redis = client_from_url(redis_url)
        # The cache's clock only judges freshness on reads; this actor only writes.
        self._quotes = RedisQuoteCache(self._redis, SimClock(datetime(2000, 1, 1, tzinfo=UTC)))
        self._subs: dict[str, Subscription] = {}
        self._handles: dict[str, Any] = {}
        self._bars: SessionBars | None = None
        self.quote_failures = 0

    def load(self, session: date, symbols: Sequence[str]) -> list[datetime]:
        """Load ``session``'s minute bars of ``symbols`` and the previous session's daily bars;
        returns the minute events' instants."""
        self._bars = SessionBars(self.store, session, symbols)
        return self._bars.instants

    def subscribe(self, account_name: str, symbols: Sequence[str], timeframe: str = "1m") -> None:
        """Send ``account_name`` the bars of ``symbols`` at ``timeframe`` (``1m`` or ``1d``)."""
        self._subs[f"{account_name}/{timeframe}"] = Subscription(account_name, frozenset(symbols), timeframe)
        self._handles[account_name] = ray.get_actor(account_name, namespace=NAMESPACE)

    def step(self, at: datetime, accounts: Sequence[str] | None = None) -> MarketStep:
        """Publish the minute completing at ``at``: quotes, then bars to the accounts, then (first
        minute only) the previous session's daily bars to the accounts that took the minute."""
        if self._bars is None:
            raise RuntimeError("no session loaded: call load(session, symbols) first")
        event = self._bars.minute(at)
        daily = self._bars.daily_at(at)
        step = MarketStep(at)
        if event is not None:
            step.quoted = self._publish_quotes(event)
            step.bars = event.bars.height
            step.accounts = self._fan_out(event, accounts)
        if daily is not None:
            failed = set(step.failures())
            names = sorted({s.account for s in self._subs.values()}) if accounts is None else accounts
            step.daily_bars = daily.bars.height
            step.daily = self._fan_out(daily, [n for n in names if n not in failed])
        return step

    def ping(self) -> str:
        return "pong"

    def _publish_quotes(self, event: BarEvent) -> bool:
        try:
            self._quotes.put_many(event.quotes)
        except TemporaryError:
            # Redis down: accounts find no fresh quote and refuse to price orders until it is back.
            self.quote_failures += 1
            return False
        return True

    def _fan_out(
        self, event: BarEvent, accounts: Sequence[str] | None
    ) -> dict[str, EventOutcome | StepFailure]:
        pending: dict[str, Any] = {}
        for sub in self._subs.values():
            if sub.timeframe != event.timeframe or (accounts is not None and sub.account not in accounts):
                continue
            part = event.only(sub.symbols)
            if not part.bars.is_empty():
                pending[sub.account] = self._handles[sub.account].on_bars.remote(part)
        results: dict[str, EventOutcome | StepFailure] = {}
        for account, ref in pending.items():
            try:
                results[account] = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                results[account] = StepFailure("actor_died", str(exc)[-600:])
            except ray.exceptions.RayTaskError as exc:
                results[account] = StepFailure("task_failed", str(exc)[-600:])
        return results


MarketDataActor: Any = ray.remote(num_cpus=0.05, max_restarts=-1, max_task_retries=0)(_MarketDataActor)


def spawn_market_data(
    source: str, data_dir: Path, redis_url: str, *, detached: bool = True, namespace: str = NAMESPACE
) -> Any:
    """Create (or get) the market-data actor of ``source``."""
    options: dict[str, Any] = {
        "name": market_data_actor_name(source),
        "namespace": namespace,
        "get_if_exists": True,
    }
    if detached:
        options["lifetime"] = "detached"
    return MarketDataActor.options(**options).remote(source, str(data_dir), redis_url)
