"""``AccountKernel``: one account's trading, composed of explicit parts (no Ray, no I/O of its own).

Parts: the bar cycle, monitoring, flatten and overrides (``AccountService``), the options
cycle (``OptionsDesk``, ``None`` without ``trident``), the venue feed (the simulated exchange's;
``None`` at a real broker), and the subscribers of its ``MessageBus`` fed by the ``LedgerOutbox``
after each ledger commit (learning snapshots, notifications, the event mirror; attach more with
``kernel.bus.subscribe``). The account actor is a Ray shell around one kernel; ``replay_kernel``
drives one in process. A bar's path through it is in ``docs/architecture.md``.

Replays are exact: an event whose ``seq`` the cursor holds is acknowledged without effect, and
the venue takes a symbol's quote only if it has none at least as new. A crash between the venue
update and the cursor save re-runs the cycle on that event, which is harmless: a signal that
already has an order derives the same ``ClientOrderId`` and sends nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import polars as pl

from core.clock import Clock, SimClock, ensure_utc
from core.errors import TemporaryError
from core.learning import EntryContext, Mark, stats
from core.messages import BarEvent, BarProcessed, DailyFigures, KernelFailed, seq_instant
from core.model import AccountId
from core.ports.cache import QuoteCache
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.ports.market_data import VenueFeed
from core.strategies.trident import CycleStatus
from core.trading.account import AccountService
from core.trading.bus import MessageBus
from core.trading.cursor import Cursor
from core.trading.options import OptionsDesk
from core.trading.outbox import LedgerOutbox
from core.trading.outcomes import (
    AccountAudit,
    CommandOutcome,
    EventOutcome,
    FlattenOutcome,
    KernelHealth,
    OptionsOutcome,
    SnapshotOutcome,
)
from core.trading.reports import CycleReport, RecoveryReport
from core.trading.snapshots import FillSnapshots, RecordingExecution

T = TypeVar("T")
LONG_AGO = datetime(1970, 1, 2, tzinfo=UTC)

History = Callable[[str, datetime], pl.DataFrame]
"""``(timeframe, until)`` -> stored bars completed by ``until`` (for warm-up)."""


@dataclass
class KernelPorts:
    """What the kernel reads and writes through: the ledger, the broker, quotes, clock, cursor."""

    ledger: Ledger
    broker: Execution
    quotes: QuoteCache
    clock: Clock
    cursor: Cursor
    venue: VenueFeed | None = None
    history: History | None = None
    closers: tuple[Callable[[], Any], ...] = ()


@dataclass
class KernelStatus:
    started: bool = False
    last_seq: int | None = None
    last_event_at: str | None = None
    events: int = 0
    replays: int = 0
    recovery: RecoveryReport | None = None


@dataclass
class AccountKernel:
    """One account's kernel (see the module docstring); built by ``adapters.account.open_kernel``."""

    account_id: AccountId
    service: AccountService
    execution: RecordingExecution
    snapshots: FillSnapshots
    outbox: LedgerOutbox
    ports: KernelPorts
    options: OptionsDesk | None = None
    bankroll: Decimal = Decimal(0)
    timeframes: tuple[str, ...] = ("1m",)
    status: KernelStatus = field(default_factory=KernelStatus)

    @property
    def bus(self) -> MessageBus:
        """Where the kernel's messages go: subscribe here (``bus.subscribe(FillsRecorded, f)``)."""
        return self.outbox.bus

    # -- start-up and recovery ----------------------------------------------------------------
    def start(self) -> RecoveryReport:
        """Recovery (start-up and restart are one path): reconcile, then warm up, then publish."""
        report = self.service.start()
        self.status.started = True
        self.status.recovery = report
        self.warm_up()
        self._after()
        return report

    def warm_up(self) -> int:
        """Fill the strategy windows with stored bars up to the last event processed (or now),
        so a process restarted mid-session decides exactly as the one that died would have."""
        history = self.ports.history
        if history is None:
            return 0
        rows = 0
        for timeframe in self.timeframes:
            last = self.ports.cursor.get(timeframe)
            until = seq_instant(last) if last is not None else self.ports.clock.now()
            bars = history(timeframe, until)
            if not bars.is_empty():
                rows += self.service.warm_up(bars, timeframe)
        return rows

    # -- the bar path ---------------------------------------------------------------------------
    def on_bars(self, event: BarEvent) -> EventOutcome:
        """Process ``event`` once; a replayed one (same ``seq``) has no effect."""
        cursor = self.ports.cursor
        if cursor.seen(event):
            self.status.replays += 1
            return EventOutcome(event.seq, replayed=True)
        self._advance(event.at)
        if self.ports.venue is not None and event.timeframe != "1d":
            self.ports.venue.on_bars(event)
        outcome = self._guarded("bar cycle", event.at, lambda: self._cycle(event))
        cursor.mark(event)
        cursor.save()
        self.status.events += 1
        self.status.last_seq = event.seq
        self.status.last_event_at = event.at.isoformat()
        return outcome

    def _cycle(self, event: BarEvent) -> EventOutcome:
        """The bar cycle; a feed no strategy runs on (the options underlying, a daily account's
        minutes) only feeds the venue and takes the fills."""
        if self.options is not None and event.timeframe != "1d":
            self.options.publish(event.at)
        if event.timeframe in self.timeframes:
            report = self.service.on_bars(event.bars, event.timeframe)
            outcome = _outcome(event.seq, report)
            if self.bus.wants(BarProcessed):
                self.bus.publish(
                    BarProcessed(
                        self.account_id,
                        event.seq,
                        event.at,
                        event.timeframe,
                        report.status,
                        report.submitted,
                        report.fills,
                        report.latency_ms,
                        report.cycle_ms,
                    )
                )
        else:
            outcome = EventOutcome(
                event.seq, status="market", fills=self._take_fills() if self.service.ready else 0
            )
        self._after()
        return outcome

    # -- scheduled steps --------------------------------------------------------------------------
    def monitor(self, now: datetime) -> int:
        """Stops and targets, then the Trident's exits; returns the orders sent."""
        self._advance(now)

        def run() -> int:
            sent = len(self.service.monitor(now))
            if self.options is not None:
                sent += self._option_exits()
            self._after()
            return sent

        return self._guarded("monitor", now, run)

    def _option_exits(self) -> int:
        assert self.options is not None
        sent = 0
        for decision, result in self.options.exits():
            if result.order is not None:
                quotes: Mapping[str, Mark] = {str(k): v for k, v in decision.quotes.items()}
                self.execution.remember(
                    str(result.order.client_order_id),
                    EntryContext(strategy=str(decision.suggestion.strategy), quotes=quotes),
                )
                sent += 1
        return sent

    def options_cycle(self, now: datetime) -> OptionsOutcome:
        """The Trident entry cycle (scheduled), unless the account may not open trades now."""
        self._advance(now)
        options = self.options
        if options is None:
            return OptionsOutcome("no_trident")
        blocked = self._blocked()
        if blocked:
            return OptionsOutcome("skipped", reason=blocked)

        def run() -> OptionsOutcome:
            self._take_fills()
            result = options.run_cycle()
            order = result.order
            if result.status is CycleStatus.SUBMITTED and order is not None and result.suggestion is not None:
                marks = options.leg_marks(result, result.suggestion.created_at)
                days = self.execution.earnings_in(result.suggestion)
                self.execution.remember(
                    str(order.client_order_id),
                    EntryContext.from_suggestion(result.suggestion, marks, days_to_earnings=days),
                )
            self._after()
            return OptionsOutcome(
                str(result.status),
                result.attempts,
                None if order is None else str(order.client_order_id),
                result.reason,
            )

        return self._guarded("options cycle", now, run)

    def _blocked(self) -> str | None:
        s = self.service
        if not s.ready:
            return "not reconciled"
        if s.blocked:
            return "open discrepancies"
        if not s.control.entries_allowed:
            return "halted or paused"
        if not s.config.automation_enabled:
            return "automation disabled"
        return None

    def position_snapshot(self, now: datetime) -> SnapshotOutcome:
        """The daily learning snapshot of every open trade (scheduled after the close), marked
        from the option chain and the quote cache."""
        self._advance(now)

        def run() -> SnapshotOutcome:
            self._after()
            marks: dict[str, Mark] = {}
            wanted = self.snapshots.open_instruments()
            # Redis down: marked from the chain only (options) or left unmarked (equities).
            with contextlib.suppress(TemporaryError):
                marks.update(
                    {str(k): v for k, v in self.ports.quotes.get_many(wanted).items()} if wanted else {}
                )
            if self.options is not None:
                marks.update(self.options.marks(now))
            written = self.snapshots.daily(now, marks)
            return SnapshotOutcome(written, len(self.snapshots.service.open_trades(self.account_id)))

        return self._guarded("position snapshot", now, run)

    def daily_report(self, now: datetime) -> DailyFigures:
        """The account's P&L summary, published on the bus (the notifications send it)."""
        self._advance(now)
        ledger, account = self.ports.ledger, self.account_id
        equity = self.ports.broker.balance().equity.amount
        positions = ledger.positions(account)
        realized = sum((p.realized_pnl.amount for p in positions), Decimal(0))
        learning = stats(ledger, str(account))
        figures = DailyFigures(
            account,
            now,
            (
                ("equity", f"{equity:.2f}"),
                ("pnl", f"{equity - self.bankroll:+.2f}"),
                ("realized", f"{realized:+.2f}"),
                ("fills", str(len(ledger.fills(account)))),
                ("open_positions", str(sum(1 for p in positions if not p.is_flat))),
                (
                    "snapshots",
                    f"{learning.entry_snapshots}/{learning.daily_snapshots}/{learning.exit_snapshots}",
                ),
            ),
        )
        self.bus.publish(figures)
        return figures

    def flatten(self, reason: str) -> int:
        """Cancel entries and close every position at market now; returns the exit orders."""
        sent = len(self.service.flatten(reason))
        self._after()
        return sent

    def scheduled_flatten(self, reason: str, now: datetime) -> FlattenOutcome:
        """Flatten if the account's rules say so at ``now`` (swing accounts hold overnight)."""
        self._advance(now)
        if not self.service.config.intraday:
            return FlattenOutcome(0, held_overnight=True)
        return FlattenOutcome(self.flatten(reason))

    def command(self, cmd: Mapping[str, Any]) -> CommandOutcome:
        """Apply an override now."""
        result = self.service.apply_command(cmd)
        self._after()
        return CommandOutcome(result.command, result.accepted, result.detail, result.state.to_payload())

    # -- reads ------------------------------------------------------------------------------------
    def audit(self) -> AccountAudit:
        broker, ledger, account = self.ports.broker, self.ports.ledger, self.account_id
        return AccountAudit(
            account_id=str(account),
            venue_orders=sorted(str(o.client_order_id) for o in broker.orders_since(LONG_AGO)),
            venue_fills=sorted(str(f.fill_id) for f in broker.fills_since(LONG_AGO)),
            venue_positions=_nets(broker.report(LONG_AGO).positions),
            ledger_orders={str(o.client_order_id): str(o.status) for o in ledger.orders(account)},
            ledger_fills=sorted(str(f.fill_id) for f in ledger.fills(account)),
            ledger_positions=_nets(ledger.positions(account)),
            equity=str(broker.balance().equity.amount),
            denials=Counter(str(d.rule) for d in ledger.denials(account)),
            open_discrepancies=len(ledger.discrepancies(account, open_only=True)),
        )

    def state(self) -> dict[str, Any]:
        """The account as the TUI shows it (a JSON payload), with the kernel's health."""
        return {**self.service.snapshot_state(), "host": asdict(self.health())}

    def health(self) -> KernelHealth:
        s = self.status
        return KernelHealth(
            str(self.account_id),
            s.started,
            s.last_seq,
            s.last_event_at,
            s.events,
            s.replays,
            os.getpid(),
            None if s.recovery is None else s.recovery.ready,
        )

    def close(self) -> None:
        for close in self.ports.closers:
            with contextlib.suppress(Exception):
                close()

    # -- internals --------------------------------------------------------------------------------
    def _after(self) -> None:
        self.outbox.drain()
        self.ports.cursor.save()

    def _take_fills(self) -> int:
        """Broker events into the ledger, for a step the bar cycle does not run."""
        try:
            return self.execution.process_events().fills
        except TemporaryError as exc:
            self.ports.ledger.append_event(
                "trading.alert",
                {"alert": "broker_unavailable", "during": "process events", "error": str(exc)},
                self.account_id,
            )
            return 0

    def _guarded(self, during: str, now: datetime, fn: Callable[[], T]) -> T:
        """Run ``fn``; a failure is published (``KernelFailed``) and raised again."""
        try:
            return fn()
        except Exception as exc:
            self.bus.publish(KernelFailed(self.account_id, during, f"{type(exc).__name__}: {exc}", now))
            raise

    def _advance(self, at: datetime) -> None:
        # Replays move the account's simulated clock; a live clock moves by itself.
        clock = self.ports.clock
        if isinstance(clock, SimClock) and ensure_utc(at) > clock.now():
            clock.set(at)


def _nets(positions: Any) -> dict[str, str]:
    return {str(p.instrument.id): format(p.net.normalize(), "f") for p in positions if p.net != 0}


def _outcome(seq: int, report: CycleReport) -> EventOutcome:
    return EventOutcome(
        seq,
        status=report.status,
        bars=report.bars,
        intents=report.intents,
        fills=report.fills,
        submitted=report.submitted,
        denied=report.denied,
        skipped=report.skipped,
        fallbacks=report.fallbacks,
        latency_ms=report.latency_ms,
    )
