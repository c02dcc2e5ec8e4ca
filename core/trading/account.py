"""``AccountService``: one brokerage account's trading, as plain methods, composed of parts.

Parts: ``BrokerLink`` (reconciliation, broker events, balance, daily P&L), ``BarCycle``
(intents, gates, strategy exits, recycling), ``EntryPipeline`` (score, size, risk, execute),
``MarketExits`` and ``Monitor`` (stops, targets, the flatten), ``ProtectionBook`` and the
``LedgerOutbox`` that publishes what the ledger recorded. The service itself holds the control
state and runs the steps in order:

* ``start`` is recovery: control state, protections and the session's opening equity are
  rebuilt from the ledger, then the ``Reconciler`` brings the ledger in line with the broker.
  Until a reconciliation succeeds (and while discrepancies are open) nothing is sent.
* ``on_bars`` is one bar event (see ``docs/trading-plane.md`` for the cycle).
* ``monitor`` checks stops and targets, then re-offers the latest bar's entries to the capital
  that exits freed. ``flatten`` closes everything at market. ``tick`` runs whatever is due.
* ``apply_command`` applies overrides; each is recorded in the ledger (kind ``override``) and
  mirrored to the event log like every other ledger event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import polars as pl

from core.calendar import MarketCalendar
from core.clock import Clock
from core.errors import InvalidValue, TemporaryError
from core.execution import ExecutionResult, ExecutionService, Reconciler
from core.messages import LedgerRecorded
from core.model import AccountId, Money
from core.ports.cache import CommandInbox, EventLog, QuoteCache, StateBoard
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.ports.scorer import Scorer
from core.risk import RiskLimits
from core.strategies import Strategy
from core.trading.blackout import Blackout
from core.trading.bus import MessageBus
from core.trading.commands import Command, ControlState, Override, OverrideResult, parse_command
from core.trading.config import DEFAULT_TIMEFRAME, AccountPurger, AccountRuntimeConfig
from core.trading.cycle import BarCycle, bar_times, by_symbol
from core.trading.entries import Book, Candidate, EntryPipeline
from core.trading.events import EventMirror
from core.trading.exits import ExitSubmitter, MarketExits, is_exit_order
from core.trading.features import EventFeatures
from core.trading.latency import LatencyRecorder, Timer
from core.trading.link import OPEN_STATUSES, BrokerLink
from core.trading.monitor import Monitor
from core.trading.outbox import LedgerOutbox
from core.trading.protections import ProtectionBook
from core.trading.reports import CycleReport, RecoveryReport
from core.trading.state import build_state

DELETED_EVENT: Final = "account.deleted"


class AccountService:
    """Trading for one account. Single-threaded: the actor calls one method at a time."""

    def __init__(
        self,
        account_id: AccountId,
        strategies: Sequence[Strategy],
        execution: ExecutionService,
        reconciler: Reconciler,
        ledger: Ledger,
        broker: Execution,
        risk_limits: RiskLimits,
        quotes: QuoteCache,
        events: EventLog,
        board: StateBoard,
        inbox: CommandInbox | None,
        scorer: Scorer | None,
        clock: Clock,
        calendar: MarketCalendar,
        config: AccountRuntimeConfig,
        *,
        purger: AccountPurger | None = None,
        timer: Timer = time.perf_counter,
        outbox: LedgerOutbox | None = None,
        blackout: Blackout | None = None,
    ) -> None:
        self.account_id = account_id
        self.config = config
        self._ledger = ledger
        self._board = board
        self._inbox = inbox
        self._events = events
        self._clock = clock
        self._purger = purger
        if outbox is None:  # on its own (tests, scripts): the event log is its one subscriber
            outbox = LedgerOutbox(account_id, ledger, MessageBus(), {})
            outbox.bus.subscribe(LedgerRecorded, EventMirror(account_id, events))
        self.outbox = outbox
        self.control = configured_control(config)
        self.link = BrokerLink(account_id, execution, reconciler, ledger, broker)
        self.protections = ProtectionBook(account_id, ledger)
        self.exits = MarketExits(
            ExitSubmitter(account_id, broker, ledger, clock, execution.retry),
            config.automation_enabled,
            self.link.alert,
            self.link.down,
        )
        self.entries = EntryPipeline(
            account_id,
            config,
            risk_limits,
            execution,
            ledger,
            quotes,
            scorer,
            clock,
            calendar,
            self.protections,
            self.link.fetch_balance,
            self.link.daily_pnl,
            blackout,
        )
        self.cycle = BarCycle(
            account_id,
            strategies,
            config,
            ledger,
            calendar,
            self.link,
            self.exits,
            self.entries,
            self._get_control,
        )
        self.monitoring = Monitor(
            account_id,
            config,
            risk_limits,
            ledger,
            quotes,
            clock,
            calendar,
            self.link,
            self.exits,
            self.protections,
            self.cycle,
            self._get_control,
            self._publish,
        )
        self.submit_latency = LatencyRecorder(timer)
        self.cycle_latency = LatencyRecorder(timer)
        self._cycles = 0
        self.publish_failures = 0

    def _get_control(self) -> ControlState:
        return self.control

    @property
    def ready(self) -> bool:
        """Reconciled with the broker (nothing is sent before)."""
        return self.link.ready

    @property
    def blocked(self) -> bool:
        """Open reconciliation discrepancies refuse new trades until acknowledged."""
        return self.link.blocked

    # -- the parts' steps, as the kernel and the scheduler call them ---------------------------
    def warm_up(self, bars: pl.DataFrame, timeframe: str = DEFAULT_TIMEFRAME) -> int:
        """Fill the window from history without trading; returns the rows kept."""
        return self.cycle.window(timeframe).append(bars)

    def monitor_due(self, now: datetime) -> bool:
        return self.monitoring.due(now)

    def monitor(self, now: datetime | None = None) -> list[ExecutionResult]:
        return self.monitoring.run(now)

    def should_flatten(self, now: datetime) -> bool:
        return self.monitoring.should_flatten(now)

    def flatten(self, reason: str = "eod") -> list[ExecutionResult]:
        return self.monitoring.flatten(reason)

    def start(self) -> RecoveryReport:
        """Rebuild from the ledger, reconcile with the broker, publish the state."""
        now = self._clock.now()
        if self._tombstone() is not None:
            self.control = ControlState(halted=True, halt_reason="account deleted", deleted=True)
        else:
            last = self._ledger.latest_event(self.account_id, "override")
            if last is not None:
                self.control = ControlState.from_payload(last.payload)
            if self.config.kill_switch and not self.control.halted:
                self.control = configured_control(self.config)
        protections = self.protections.load()
        self.link.load_session_start()
        self._restore_outbox()
        result, error, fills = None, "", 0
        if not self.control.deleted:
            result, error = self.link.recover(now)
            if self.ready:
                fills = self.link.process_events()
                self.link.refresh_balance()
        book = self.link.book()
        self._ledger.append_event(
            "trading.recovered",
            {
                "ready": self.ready,
                "blocked": self.blocked,
                "error": error,
                "positions": len(book.positions),
                "open_orders": len(book.open_orders),
                "orders_adopted": [] if result is None else [str(c) for c in result.orders_adopted],
                "fills_recorded": 0 if result is None else result.fills_recorded,
            },
            self.account_id,
        )
        if self.control.deleting:
            self._try_purge()
        self._publish()
        return RecoveryReport(
            account_id=str(self.account_id),
            ts=now,
            ready=self.ready,
            blocked=self.blocked,
            reconcile=result,
            error=error,
            positions=len(book.positions),
            open_orders=len(book.open_orders),
            protections=protections,
            fills_processed=fills,
            control=self.control,
        )

    def on_bars(self, bars: pl.DataFrame, timeframe: str = DEFAULT_TIMEFRAME) -> CycleReport:
        """One bar event: one row per symbol for the same ``ts`` (see the module docstring)."""
        started = self.cycle_latency.now()
        self.poll_commands()
        now = self._clock.now()
        window = self.cycle.window(timeframe)
        kept = window.append(bars)
        bar_ts = _latest_ts(bars)
        self._cycles += 1

        def report(status: str, **kw: Any) -> CycleReport:
            cycle_ms = self.cycle_latency.since(started) * 1000
            self._publish()
            return CycleReport(now, bar_ts, timeframe, status, kept, cycle_ms=cycle_ms, **kw)

        if self.control.deleted:
            return report("deleted", intents=0)
        if not self.link.ensure_ready(now):
            return report("not_ready", intents=0)
        fills = self.link.process_events()
        if self.control.deleting:
            self._try_purge()
            return report("deleting", intents=0, fills=fills)
        book = self.link.book()
        if self.cycle.expire_entries(now, book):
            book = self.link.book()
        features = EventFeatures(self.cycle.windows)
        intents = self.cycle.intents(timeframe, bar_times(bars), features)
        results: list[ExecutionResult] = []
        skipped: list[str] = []
        exits = [(s, i) for s, i in intents if i.action == "exit"]
        entries = [Candidate(s, i, timeframe) for s, i in intents if i.action == "entry"]
        results += self.cycle.strategy_exits(exits, book, skipped)
        if results:
            book = self.link.book()
        gated = self.cycle.gate_entries(entries, book, now, skipped)
        outcome = self.entries.run(
            gated,
            features,
            book,
            self.control.halted,
            self.config.automation_enabled,
            started,
            lambda t0: (self.cycle_latency.now() - t0) * 1000,
        )
        for ms in outcome.latency_ms:
            self.submit_latency.record(ms / 1000)
        if outcome.balance is not None:
            self.link.balance = outcome.balance
        results += outcome.results
        skipped += outcome.skipped
        fills += self.link.process_events()
        return report(
            "traded" if results else "idle",
            intents=len(intents),
            results=tuple(results),
            skipped=tuple(skipped),
            fills=fills,
            model_versions=dict(outcome.model_versions),
            fallbacks=tuple(outcome.fallbacks),
            latency_ms=tuple(outcome.latency_ms),
        )

    def tick(self, now: datetime | None = None) -> list[ExecutionResult]:
        """Whatever is due at ``now``: commands, recovery, monitoring, the end-of-day flatten."""
        now = now or self._clock.now()
        results = [r for o in self.poll_commands() for r in o.results]
        if self.control.deleted:
            return results
        self.link.ensure_ready(now)
        if self.control.deleting:
            self.link.process_events()
            self._try_purge()
            self._publish()
            return results
        if self.monitor_due(now):
            results += self.monitor(now)
        if self.should_flatten(now):
            results += self.flatten("eod")
        return results

    def poll_commands(self) -> list[OverrideResult]:
        """Apply every queued command of this account, oldest first."""
        if self._inbox is None:
            return []
        try:
            commands = self._inbox.pop_all(self.account_id)
        except TemporaryError:
            return []
        return [self.apply_command(c) for c in commands]

    def apply_command(self, cmd: Mapping[str, Any]) -> OverrideResult:
        """Apply one override (see ``core.trading.commands``) and record it."""
        try:
            command = parse_command(cmd)
        except InvalidValue as exc:
            return self._record_override(dict(cmd), False, str(exc), ())
        if self.control.deleted:
            return self._record_override(cmd, False, "account deleted", ())
        match command.override:
            case Override.DELETE if command.confirm != str(self.account_id):
                return self._record_override(cmd, False, "delete needs confirm equal to the account id", ())
            case Override.ACKNOWLEDGE:
                count = self._ledger.acknowledge_discrepancies(self.account_id, command.by)
                self.link.blocked = self._ledger.has_open_discrepancies(self.account_id)
                return self._record_override(cmd, True, f"{count} discrepancies acknowledged", ())
        self.control = self.control.after(command)
        results: tuple[ExecutionResult, ...] = ()
        detail = command.override.value
        if command.override is Override.HALT:
            detail = self._cancel_entries()
        elif command.override in (Override.FLATTEN, Override.DELETE):
            results = tuple(self.flatten(f"{command.override.value} by {command.by}"))
            detail = f"{len(results)} exit orders"
        outcome = self._record_override(cmd, True, detail, results, command)
        if command.override is Override.DELETE:
            self.link.process_events()
            self._try_purge()
        return outcome

    def _cancel_entries(self) -> str:
        self.link.process_events()
        book = self.link.book()
        entries = [o for o in book.open_orders if not is_exit_order(o, by_symbol(book))]
        cancelled, errors = self.exits.cancel(entries)
        return f"{len(cancelled)} entry orders cancelled" + (f"; errors: {errors}" if errors else "")

    def _record_override(
        self,
        cmd: Mapping[str, Any],
        accepted: bool,
        detail: str,
        results: tuple[ExecutionResult, ...],
        command: Command | None = None,
    ) -> OverrideResult:
        payload = {
            "cmd": str(cmd.get("cmd", "")),
            "by": str(cmd.get("by") or "unknown"),
            "reason": str(cmd.get("reason") or ""),
            "accepted": accepted,
            "detail": detail,
            "orders": [str(r.order.client_order_id) for r in results if r.order is not None],
            "state": self.control.to_payload(),
        }
        self._ledger.append_event("override", payload, self.account_id)
        self._publish()
        name = command.override.value if command is not None else str(cmd.get("cmd", ""))
        return OverrideResult(name, accepted, detail, self.control, results)

    def _try_purge(self) -> bool:
        """Delete the account's ledger rows once nothing is open or working."""
        book = self.link.book()
        if book.positions or book.open_orders:
            return False
        if self._purger is None:
            self.link.alert("purge_unavailable", {"why": "no purger configured; the account stays halted"})
            return False
        self.outbox.drain()
        counts = dict(self._purger.purge_account(self.account_id))
        now = self._clock.now()
        self._ledger.append_event(DELETED_EVENT, {"account": str(self.account_id), "rows": counts})
        self.control = ControlState(halted=True, halt_reason="account deleted", deleted=True)
        try:
            self._events.publish(
                {
                    "kind": "override",
                    "account": str(self.account_id),
                    "ts": now,
                    "payload": {"cmd": "delete", "phase": "purged", "rows": counts},
                }
            )
        except TemporaryError:
            self.publish_failures += 1
        return True

    def _tombstone(self) -> Mapping[str, Any] | None:
        seq = 0
        found: Mapping[str, Any] | None = None
        while batch := self._ledger.events(seq, 1000, None, DELETED_EVENT):
            found = next(
                (e.payload for e in batch if e.payload.get("account") == str(self.account_id)), found
            )
            seq = batch[-1].seq
        return found

    def snapshot_state(self) -> dict[str, Any]:
        """The account as the TUI shows it (JSON-able)."""
        everything = [] if self.control.deleted else self._ledger.positions(self.account_id)
        book = Book(
            {p.instrument.id: p for p in everything if not p.is_flat},
            [] if self.control.deleted else self._ledger.orders(self.account_id, OPEN_STATUSES),
        )
        realized = sum((p.realized_pnl for p in everything), Money.zero(self.config.currency))
        marks = {
            s: float(r["close"]) for w in self.cycle.windows.values() for s in w.symbols if (r := w.latest(s))
        }
        last_bars = [w.last_ts for w in self.cycle.windows.values() if w.last_ts is not None]
        return build_state(
            account_id=str(self.account_id),
            now=self._clock.now(),
            status=self._status(),
            control=self.control,
            automation_enabled=self.config.automation_enabled,
            book=book,
            realized_pnl=realized,
            marks=marks,
            protections=self.protections,
            balance=self.link.balance,
            daily_pnl=self.link.peek_daily_pnl(),
            last_bar_ts=max(last_bars) if last_bars else None,
            model_versions=self.entries.model_versions,
            scored=self.entries.scored,
            fallbacks=self.entries.fallbacks,
            latency={"bar_to_submit": self.submit_latency.summary(), "cycle": self.cycle_latency.summary()},
            cycles=self._cycles,
            ledger_seq=self.outbox.seq,
        )

    def _status(self) -> str:
        if self.control.deleted:
            return "deleted"
        if self.control.deleting:
            return "deleting"
        if not self.ready:
            return "recovering"
        if self.blocked:
            return "blocked"
        if self.control.halted:
            return "halted"
        if self.control.paused:
            return "paused"
        return "trading" if self.config.automation_enabled else "suggesting"

    def _publish(self) -> None:
        self.outbox.drain()
        try:
            self._board.set_account_state(self.account_id, self.snapshot_state())
        except TemporaryError:
            self.publish_failures += 1

    def _restore_outbox(self) -> None:
        # The cursor is the one record of what was published. Without one (a first start)
        # the outbox begins after what the ledger holds: nothing of it is news. (The state
        # board's old ``ledger_seq`` is no guide: it may come from another ledger.)
        if not self.outbox.started:
            self.outbox.skip_to_end()


def configured_control(config: AccountRuntimeConfig) -> ControlState:
    if config.kill_switch:
        return ControlState(halted=True, halt_reason="configured kill switch")
    return ControlState()


def _latest_ts(bars: pl.DataFrame) -> datetime | None:
    if bars.height == 0:
        return None
    value = bars.get_column("ts").max()
    return value if isinstance(value, datetime) else None
