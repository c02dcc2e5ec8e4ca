"""``AccountHost``: everything the account actor does, as a plain object (no Ray).

It feeds the account's simulated venue with the market, hands bar events to the
``AccountService`` once each (``FeedCursor``), and forwards the other calls. Unit tests drive it
directly; the actor only builds one and forwards.

Replays are exact: an event whose ``seq`` the cursor already holds is acknowledged without
effect, and the venue is given a symbol's quote only if it has none at least as new. A crash
between the venue update and the cursor write therefore re-runs the service on that event,
which is harmless: a signal that already has an order derives the same ``ClientOrderId`` and
sends nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from actors.events import BarEvent, seq_instant
from actors.extras import AccountExtras
from actors.market_feed import quotes_of
from adapters.brokers.sim import SimExchange
from core.clock import Clock, SimClock, ensure_utc
from core.model import AccountId, Equity, Order
from core.ports.execution import Execution
from core.ports.ledger import Ledger

_LONG_AGO = datetime(1970, 1, 2, tzinfo=UTC)


History = Callable[[str, datetime], pl.DataFrame]
"""``(timeframe, until)`` -> stored bars completed by ``until`` (for warm-up)."""


class TradingService(Protocol):
    """What the host needs of ``core.trading.AccountService``."""

    def start(self) -> Any: ...
    def warm_up(self, bars: pl.DataFrame, timeframe: str = ...) -> int: ...
    def on_bars(self, bars: pl.DataFrame, timeframe: str = ...) -> Any: ...
    def monitor(self, now: datetime) -> Any: ...
    def flatten(self, reason: str) -> Any: ...
    def should_flatten(self, now: datetime) -> bool: ...
    def apply_command(self, cmd: Mapping[str, Any]) -> Any: ...
    def snapshot_state(self) -> Mapping[str, Any]: ...


class FeedCursor:
    """The last event ``seq`` processed per timeframe, in a small JSON file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seqs: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def seen(self, event: BarEvent) -> bool:
        return event.seq <= self._seqs.get(event.timeframe, -1)

    def mark(self, event: BarEvent) -> None:
        self._seqs[event.timeframe] = event.seq
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._seqs))
        tmp.replace(self.path)  # a killed process leaves the old or the new file, never half

    def last(self, timeframe: str) -> int | None:
        return self._seqs.get(timeframe)


class CrashAfterSubmits:
    """Fault injection: exits the process right after the venue acknowledged its ``n``-th order.

    Counted at the venue, so the restarted process (whose venue already holds ``n`` orders)
    does not crash again. The ledger still has the order PENDING: recovery must adopt it.
    """

    def __init__(self, inner: Execution, n: int, exit: Callable[[int], Any] = os._exit) -> None:
        self.inner = inner
        self.n = n
        self._count = len(inner.orders_since(_LONG_AGO))
        self._exit = exit

    def submit(self, order: Order) -> Order:
        known = self.inner.get_order(order.client_order_id) is not None
        ack = self.inner.submit(order)
        if not known:
            self._count += 1
            if self._count == self.n:
                self._exit(1)
        return ack

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class HostStatus:
    """What ``health()`` reports without touching the service (it may be mid-cycle)."""

    account_id: str
    started: bool = False
    last_seq: int | None = None
    last_event_at: str | None = None
    events: int = 0
    replays: int = 0


class AccountHost:
    """The account actor's logic. ``venue`` is the simulated exchange (``None`` at a real broker)."""

    def __init__(
        self,
        account_id: str,
        service: TradingService,
        clock: Clock,
        cursor: FeedCursor,
        ledger: Ledger,
        broker: Execution,
        venue: SimExchange | None = None,
        closers: tuple[Callable[[], Any], ...] = (),
        history: History | None = None,
        timeframes: tuple[str, ...] = ("1m",),
        extras: AccountExtras | None = None,
    ) -> None:
        self.account_id = account_id
        self.service = service
        self.ledger = ledger
        self.broker = broker
        self.clock = clock
        self.cursor = cursor
        self.venue = venue
        self.status = HostStatus(account_id)
        self._closers = closers
        self._history = history
        self._timeframes = timeframes
        self.extras = extras

    def start(self) -> Any:
        """Recovery (start-up and restart are one path): the service reconciles before it trades."""
        report = self.service.start()
        self.status.started = True
        self.warm_up()
        self._after()
        return report

    def warm_up(self) -> int:
        """Fill the strategy windows with stored bars up to the last event processed (or now).

        A process restarted mid-session then decides exactly as the one that died would have.
        """
        if self._history is None:
            return 0
        rows = 0
        for timeframe in self._timeframes:
            last = self.cursor.last(timeframe)
            until = seq_instant(last) if last is not None else self._now()
            bars = self._history(timeframe, until)
            if not bars.is_empty():
                rows += self.service.warm_up(bars, timeframe)
        return rows

    def _now(self) -> datetime:
        return self.clock.now()

    def on_bars(self, event: BarEvent) -> dict[str, Any]:
        """Process ``event`` once; a replayed one (same ``seq``) returns ``{"replayed": True}``."""
        if self.cursor.seen(event):
            self.status.replays += 1
            return {"seq": event.seq, "replayed": True}
        self._advance(event.at)
        if self.venue is not None and event.timeframe != "1d":
            self._feed_venue(event)
        report = self._guarded("bar cycle", event.at, lambda: self._cycle(event))
        self.cursor.mark(event)
        self.status.events += 1
        self.status.last_seq = event.seq
        self.status.last_event_at = event.at.isoformat()
        return {"seq": event.seq, "replayed": False, **summarize(report)}

    def _cycle(self, event: BarEvent) -> Any:
        """The service's bar cycle; a feed no strategy runs on (the options underlying, a daily
        account's minutes) only feeds the venue and takes the fills."""
        x = self.extras
        if x is not None and event.timeframe != "1d":
            x.on_minute(event.at)
        if event.timeframe in self._timeframes or x is None:
            report = self.service.on_bars(event.bars, event.timeframe)
        else:
            report = {"status": "market", "fills": x.process_events() if self._ready() else 0}
        self._after()
        return report

    def _ready(self) -> bool:
        return bool(getattr(self.service, "ready", True))

    def _after(self) -> None:
        if self.extras is not None:
            self.extras.after()

    def _guarded(self, during: str, now: datetime, fn: Callable[[], Any]) -> Any:
        return fn() if self.extras is None else self.extras.guarded(during, now, fn)

    def _advance(self, at: datetime) -> None:
        # Replays move the account's simulated clock; a live clock moves by itself.
        if isinstance(self.clock, SimClock) and ensure_utc(at) > self.clock.now():
            self.clock.set(at)

    def _feed_venue(self, event: BarEvent) -> None:
        assert self.venue is not None
        quotes = quotes_of(event.bars, event.at)
        quoted = {str(q.instrument_id) for q in quotes}
        self.venue.on_quotes(
            [q for q in quotes if (seen := self.venue.last_quote(q.instrument_id)) is None or seen.ts < q.ts]
        )
        for row in event.bars.iter_rows(named=True):
            if row["symbol"] not in quoted:
                self.venue.on_bar(Equity(row["symbol"]), row)

    def monitor(self, now: datetime) -> Any:
        """The service's stops and targets, then the Trident exits (options accounts)."""
        self._advance(now)

        def run() -> list[Any]:
            results = list(self.service.monitor(now) or [])
            if self.extras is not None:
                results += self.extras.exits()
            return results

        return self._guarded("monitor", now, run)

    def options_cycle(self, now: datetime) -> dict[str, Any]:
        """The Trident entry cycle (scheduled), unless the account may not open trades now."""
        self._advance(now)
        if self.extras is None:
            return {"status": "no_trident"}
        extras = self.extras
        return dict(self._guarded("options cycle", now, lambda: extras.options_cycle(self._blocked())))

    def _blocked(self) -> str | None:
        s = self.service
        control = getattr(s, "control", None)
        if not self._ready():
            return "not reconciled"
        if getattr(s, "blocked", False):
            return "open discrepancies"
        if control is not None and not control.entries_allowed:
            return "halted or paused"
        if not getattr(getattr(s, "config", None), "automation_enabled", True):
            return "automation disabled"
        return None

    def position_snapshot(self, now: datetime) -> dict[str, Any]:
        """The daily learning snapshot of every open trade (scheduled after the close)."""
        self._advance(now)
        if self.extras is None:
            return {"daily_snapshots": 0}
        extras = self.extras
        return dict(self._guarded("position snapshot", now, lambda: extras.position_snapshot(now)))

    def daily_report(self, now: datetime) -> dict[str, Any]:
        """The account's daily report notification."""
        self._advance(now)
        return {} if self.extras is None else self.extras.daily_report(now)

    def flatten(self, reason: str) -> Any:
        results = self.service.flatten(reason)
        self._after()
        return results

    def scheduled_flatten(self, reason: str, now: datetime) -> str:
        """Flatten if the account's rules say so at ``now`` (swing accounts hold overnight)."""
        self._advance(now)
        if not getattr(getattr(self.service, "config", None), "intraday", True):
            return "holds overnight: not flattened"
        return f"{len(self.service.flatten(reason))} exit order(s)"

    def command(self, cmd: Mapping[str, Any]) -> dict[str, Any]:
        """Apply an override now; a digest of the ``OverrideResult``."""
        result = self.service.apply_command(cmd)
        self._after()
        state = getattr(result, "state", None)
        return {
            "command": str(getattr(result, "command", cmd.get("cmd"))),
            "accepted": bool(getattr(result, "accepted", True)),
            "detail": str(getattr(result, "detail", "")),
            "state": state.to_payload() if state is not None else {},
        }

    def audit(self) -> dict[str, Any]:
        """Venue and ledger side by side: orders, fills, positions and equity (for checks)."""
        account = AccountId(self.account_id)
        venue_orders = self.broker.orders_since(_LONG_AGO)
        return {
            "venue_orders": sorted(str(o.client_order_id) for o in venue_orders),
            "venue_fills": sorted(str(f.fill_id) for f in self.broker.fills_since(_LONG_AGO)),
            "venue_positions": _nets(self.broker.report(_LONG_AGO).positions),
            "ledger_orders": {str(o.client_order_id): str(o.status) for o in self.ledger.orders(account)},
            "ledger_fills": sorted(str(f.fill_id) for f in self.ledger.fills(account)),
            "ledger_positions": _nets(self.ledger.positions(account)),
            "equity": str(self.broker.balance().equity.amount),
            "denials": [(str(d.rule), d.reason) for d in self.ledger.denials(account)],
            "open_discrepancies": len(self.ledger.discrepancies(account, open_only=True)),
        }

    def state(self) -> dict[str, Any]:
        return {**dict(self.service.snapshot_state()), "host": self.health()}

    def health(self) -> dict[str, Any]:
        s = self.status
        return {
            "account_id": s.account_id,
            "started": s.started,
            "last_seq": s.last_seq,
            "last_event_at": s.last_event_at,
            "events": s.events,
            "replays": s.replays,
            "pid": os.getpid(),
        }

    def close(self) -> None:
        if self.extras is not None:
            self.extras.close()
        for close in self._closers:
            close()


def _nets(positions: Any) -> dict[str, str]:
    return {str(p.instrument.id): format(p.net.normalize(), "f") for p in positions if p.net != 0}


_REPORTED = (
    "status",
    "bars",
    "intents",
    "fills",
    "submitted",
    "denied",
    "skipped",
    "fallbacks",
    "latency_ms",
)


def summarize(report: Any) -> dict[str, Any]:
    """A JSON-able digest of a ``CycleReport`` (or anything with some of its fields)."""
    out: dict[str, Any] = {}
    for name in _REPORTED:
        value = report.get(name) if isinstance(report, Mapping) else getattr(report, name, None)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out
