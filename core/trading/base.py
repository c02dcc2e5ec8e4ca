"""``AccountBase``: the state of one account's trading and the reads and writes it shares.

``AccountService`` (``account.py``) is this plus the bar cycle and monitoring (``cycle.py``),
recovery, ``tick`` and overrides. See ``docs/trading-plane.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock
from core.errors import InvalidValue, TemporaryError
from core.execution import ExecutionService, Reconciler, ReconcileResult
from core.features import warmup_rows
from core.messages import LedgerRecorded
from core.model import AccountBalance, AccountId, Money, OrderStatus, Position
from core.ports.cache import CommandInbox, EventLog, QuoteCache, StateBoard
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.ports.scorer import Scorer
from core.risk import RiskLimits
from core.strategies import Strategy
from core.trading.bus import MessageBus
from core.trading.commands import ControlState
from core.trading.config import AccountPurger, AccountRuntimeConfig, feature_set_of
from core.trading.entries import Book, EntryPipeline
from core.trading.events import EventMirror
from core.trading.exits import ExitSubmitter
from core.trading.latency import LatencyRecorder, Timer
from core.trading.outbox import LedgerOutbox
from core.trading.protections import ProtectionBook
from core.trading.state import build_state
from core.trading.window import RollingBars

OPEN_STATUSES: Final = tuple(s for s in OrderStatus if s.is_open)
_RECOVERY_RETRY: Final = timedelta(minutes=1)


class AccountBase:
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
    ) -> None:
        names = [s.name for s in strategies]
        if len(set(names)) != len(names):
            raise InvalidValue(f"strategy names must be unique, got {names}")
        self.account_id = account_id
        self.config = config
        self._strategies = tuple(strategies)
        self._execution = execution
        self._reconciler = reconciler
        self._ledger = ledger
        self._broker = broker
        self._limits = risk_limits
        self._quotes = quotes
        self._board = board
        self._inbox = inbox
        self._clock = clock
        self._calendar = calendar
        self._purger = purger
        self._windows: dict[str, RollingBars] = {}
        for tf in sorted({config.timeframe_of(s.name) for s in strategies}):
            warm = max(s.warmup for s in strategies if config.timeframe_of(s.name) == tf)
            self._windows[tf] = RollingBars(warm + warmup_rows(feature_set_of(tf)))
        self._protections = ProtectionBook(account_id, ledger)
        self._exits = ExitSubmitter(account_id, broker, ledger, clock, execution.retry)
        if outbox is None:  # on its own (tests, scripts): the event log is its one subscriber
            outbox = LedgerOutbox(account_id, ledger, MessageBus(), {})
            outbox.bus.subscribe(LedgerRecorded, EventMirror(account_id, events))
        self.outbox = outbox
        self._events = events
        self.submit_latency = LatencyRecorder(timer)
        self.cycle_latency = LatencyRecorder(timer)
        self._entries = EntryPipeline(
            account_id,
            config,
            risk_limits,
            execution,
            ledger,
            quotes,
            scorer,
            clock,
            calendar,
            self._protections,
            self._fetch_balance,
            self._daily_pnl,
        )
        self.control = configured_control(config)
        self.ready = False
        self.blocked = False
        self._last_recovery: datetime | None = None
        self._last_monitor: datetime | None = None
        self._session_start: tuple[date, Decimal] | None = None
        self._balance: AccountBalance | None = None
        self._flattened: date | None = None
        self._cycles = 0
        self.publish_failures = 0

    def _recover(self, now: datetime) -> tuple[ReconcileResult | None, str]:
        self._last_recovery = now
        try:
            result = self._reconciler.reconcile()
        except TemporaryError as exc:
            self.ready = False
            return None, f"reconciliation failed: {exc}"
        self.ready = True
        self.blocked = result.blocked
        return result, ""

    def _ensure_ready(self, now: datetime) -> bool:
        """Retry recovery (at most once a minute) after a failed start or a broker outage."""
        if not self.ready and (self._last_recovery is None or now - self._last_recovery >= _RECOVERY_RETRY):
            self._recover(now)
        return self.ready

    def _broker_down(self, exc: TemporaryError, during: str) -> None:
        # After an outage the ledger may have missed events: reconcile before trading again.
        self.ready = False
        self._alert("broker_unavailable", {"during": during, "error": str(exc)})

    def _window(self, timeframe: str) -> RollingBars:
        window = self._windows.get(timeframe)
        if window is None:
            raise InvalidValue(f"no strategy of account {self.account_id} runs on {timeframe!r} bars")
        return window

    def snapshot_state(self) -> dict[str, Any]:
        """The account as the TUI shows it (JSON-able)."""
        everything = [] if self.control.deleted else self._ledger.positions(self.account_id)
        book = Book(
            {p.instrument.id: p for p in everything if not p.is_flat},
            [] if self.control.deleted else self._ledger.orders(self.account_id, OPEN_STATUSES),
        )
        realized = sum((p.realized_pnl for p in everything), Money.zero(self.config.currency))
        marks = {
            s: float(r["close"]) for w in self._windows.values() for s in w.symbols if (r := w.latest(s))
        }
        last_bars = [w.last_ts for w in self._windows.values() if w.last_ts is not None]
        return build_state(
            account_id=str(self.account_id),
            now=self._clock.now(),
            status=self._status(),
            control=self.control,
            automation_enabled=self.config.automation_enabled,
            book=book,
            realized_pnl=realized,
            marks=marks,
            protections=self._protections,
            balance=self._balance,
            daily_pnl=self._peek_daily_pnl(),
            last_bar_ts=max(last_bars) if last_bars else None,
            model_versions=self._entries.model_versions,
            scored=self._entries.scored,
            fallbacks=self._entries.fallbacks,
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
        if self.outbox.started:
            return
        try:
            previous = self._board.get_account_state(self.account_id)
        except TemporaryError:
            previous = None
        seq = previous.get("ledger_seq") if previous else None
        if isinstance(seq, int) and seq >= 0:
            self.outbox.skip_to(seq)
        else:
            self.outbox.skip_to_end()

    def _book(self) -> Book:
        positions = {p.instrument.id: p for p in self._ledger.positions(self.account_id) if not p.is_flat}
        return Book(positions, self._ledger.orders(self.account_id, OPEN_STATUSES))

    def _process_events(self) -> int:
        if not self.ready:
            return 0
        try:
            return self._execution.process_events().fills
        except TemporaryError as exc:
            self._broker_down(exc, "process events")
            return 0

    def _fetch_balance(self) -> AccountBalance:
        self._balance = self._broker.balance()
        return self._balance

    def _refresh_balance(self) -> None:
        try:
            self._ledger.record_balance(self._fetch_balance())
        except TemporaryError as exc:
            self._broker_down(exc, "balance")

    def _peek_daily_pnl(self) -> Money | None:
        balance, start = self._balance, self._session_start
        if balance is None or start is None or start[0] != to_new_york(balance.ts).date():
            return None
        return Money(balance.equity.amount - start[1], balance.equity.currency)

    def _daily_pnl(self, balance: AccountBalance, day: date) -> Money:
        """Equity now minus the equity at the session's first look (kept in the ledger)."""
        if self._session_start is None or self._session_start[0] != day:
            self._session_start = (day, balance.equity.amount)
            self._ledger.append_event(
                "trading.session_start",
                {"session": day.isoformat(), "equity": str(balance.equity.amount)},
                self.account_id,
            )
        return Money(balance.equity.amount - self._session_start[1], balance.equity.currency)

    def _load_session_start(self) -> None:
        last = self._ledger.latest_event(self.account_id, "trading.session_start")
        if last is not None:
            self._session_start = (
                date.fromisoformat(str(last.payload["session"])),
                Decimal(str(last.payload["equity"])),
            )

    def _alert(self, alert: str, payload: Mapping[str, Any]) -> None:
        self._ledger.append_event("trading.alert", {"alert": alert, **payload}, self.account_id)


def configured_control(config: AccountRuntimeConfig) -> ControlState:
    if config.kill_switch:
        return ControlState(halted=True, halt_reason="configured kill switch")
    return ControlState()


def by_symbol(book: Book) -> dict[str, Position]:
    return {str(iid): p for iid, p in book.positions.items()}
