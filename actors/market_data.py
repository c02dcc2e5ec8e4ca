"""``MarketDataActor``: one per data source, named ``market-data:<source>``.

It loads a session's bars from the ``BarStore`` (live streaming comes later) and, at each
``step(at)``, writes that minute's quotes to the Redis quote cache and sends the bars to every
subscribed account actor, returning once all of them processed the event (lockstep, so a
replay is deterministic). The step of the session's first minute then sends the previous
session's daily bars to the daily subscribers: a daily signal is acted on at the next open. An account that died mid-event is reported, not retried: the driver
waits for Ray to restart it and calls ``step`` again for it (the event ``seq`` makes that safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import ray

from actors import NAMESPACE, market_data_actor_name
from actors.events import BarEvent
from actors.market_feed import SessionBars, quotes_of
from adapters.cache import RedisQuoteCache, client_from_url
from adapters.store import BarStore
from core.calendar import MarketCalendar
from core.clock import SimClock, ensure_utc
from core.errors import TemporaryError
from core.trading.freshness import daily_delivery


@dataclass(frozen=True, slots=True)
class Subscription:
    account: str
    symbols: frozenset[str]
    timeframe: str


class _MarketDataActor:
    def __init__(self, source: str, data_dir: str, redis_url: str) -> None:
        self.source = source
        self.store = BarStore(Path(data_dir))
        self._redis = client_from_url(redis_url)
        # The cache's clock only judges freshness on reads; this actor only writes.
        self._quotes = RedisQuoteCache(
            self._redis, SimClock(datetime.fromisoformat("2000-01-01T00:00+00:00"))
        )
        self._subs: dict[str, Subscription] = {}
        self._handles: dict[str, Any] = {}
        self._bars: SessionBars | None = None
        self._daily: BarEvent | None = None
        self.quote_failures = 0

    def load(self, session: date, symbols: Sequence[str]) -> list[datetime]:
        """Load ``session``'s minute bars of ``symbols`` and the previous session's daily bars;
        returns the minute events' instants."""
        self._bars = SessionBars(self.store, session, symbols)
        self._daily = previous_daily(self.store, session, symbols)
        return self._bars.instants

    def subscribe(self, account_name: str, symbols: Sequence[str], timeframe: str = "1m") -> None:
        """Send ``account_name`` the bars of ``symbols`` at ``timeframe`` (``1m`` or ``1d``)."""
        key = f"{account_name}/{timeframe}"
        self._subs[key] = Subscription(account_name, frozenset(symbols), timeframe)
        self._handles[account_name] = ray.get_actor(account_name, namespace=NAMESPACE)

    def step(self, at: datetime, accounts: Sequence[str] | None = None) -> dict[str, Any]:
        """Publish the minute completing at ``at``: quotes, then bars to the accounts, then (first
        minute only) the previous session's daily bars to the accounts that took the minute."""
        event = self._session().minute(at)
        daily = self._daily if self._daily is not None and ensure_utc(at) == self._daily.at else None
        out: dict[str, Any] = {"at": at.isoformat(), "bars": 0, "accounts": {}}
        if event is not None:
            out["quoted"] = self._publish_quotes(event)
            out["bars"] = event.bars.height
            out["accounts"] = self._fan_out(event, accounts)
        if daily is not None:
            failed = {a for a, r in out["accounts"].items() if "error" in r}
            names = self._account_names() if accounts is None else accounts
            targets = [n for n in names if n not in failed]
            out["daily_bars"] = daily.bars.height
            out["accounts"] = _merge(out["accounts"], self._fan_out(daily, targets))
        return out

    def info(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "session": None if self._bars is None else self._bars.session.isoformat(),
            "subscriptions": sorted(self._subs),
            "quote_failures": self.quote_failures,
        }

    def ping(self) -> str:
        return "pong"

    def _session(self) -> SessionBars:
        if self._bars is None:
            raise RuntimeError("no session loaded: call load(session, symbols) first")
        return self._bars

    def _account_names(self) -> list[str]:
        return sorted({s.account for s in self._subs.values()})

    def _publish_quotes(self, event: BarEvent) -> bool:
        try:
            self._quotes.put_many(quotes_of(event.bars, event.at))
        except TemporaryError:
            # Redis down: accounts find no fresh quote and refuse to price orders until it is back.
            self.quote_failures += 1
            return False
        return True

    def _fan_out(self, event: BarEvent, accounts: Sequence[str] | None) -> dict[str, Any]:
        pending: dict[str, Any] = {}
        for sub in self._subs.values():
            if sub.timeframe != event.timeframe or (accounts is not None and sub.account not in accounts):
                continue
            bars = event.bars.filter(pl.col("symbol").is_in(list(sub.symbols)))
            if bars.is_empty():
                continue
            handle = self._handles[sub.account]
            pending[sub.account] = handle.on_bars.remote(BarEvent(event.seq, event.at, event.timeframe, bars))
        results: dict[str, Any] = {}
        for account, ref in pending.items():
            try:
                results[account] = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                results[account] = {"error": "actor_died", "detail": str(exc)[-600:]}
            except ray.exceptions.RayTaskError as exc:
                results[account] = {"error": "task_failed", "detail": str(exc)[-600:]}
        return results


def previous_daily(store: BarStore, session: date, symbols: Sequence[str]) -> BarEvent | None:
    """The daily bars of the session before ``session``, as delivered in ``session``'s first minute."""
    calendar = MarketCalendar()
    previous = calendar.previous_session(session)
    bars = store.read("1d", sorted(symbols), start=previous, end=previous)
    return None if bars.is_empty() else BarEvent.of(daily_delivery(previous, calendar), "1d", bars)


def _merge(minute: dict[str, Any], daily: dict[str, Any]) -> dict[str, Any]:
    """Per account: the minute's result with the daily one under ``"daily"`` (an error on top)."""
    out = dict(minute)
    for account, result in daily.items():
        out[account] = result if "error" in result else {**minute.get(account, {}), "daily": result}
    return out


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
