"""``AccountService``: one brokerage account's trading, as plain methods (the actor is a shell).

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

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import polars as pl

from core.errors import InvalidValue, TemporaryError
from core.execution import ExecutionResult
from core.trading.base import by_symbol, configured_control
from core.trading.commands import Command, ControlState, Override, OverrideResult, parse_command
from core.trading.config import DEFAULT_TIMEFRAME
from core.trading.cycle import CycleMixin
from core.trading.entries import Candidate
from core.trading.exits import is_exit_order
from core.trading.features import EventFeatures
from core.trading.reports import CycleReport, RecoveryReport

DELETED_EVENT: Final = "account.deleted"


class AccountService(CycleMixin):
    """One account's trading (constructor: ``AccountBase.__init__``)."""

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
        protections = self._protections.load()
        self._load_session_start()
        self._restore_outbox()
        result, error, fills = None, "", 0
        if not self.control.deleted:
            result, error = self._recover(now)
            if self.ready:
                fills = self._process_events()
                self._refresh_balance()
        book = self._book()
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
        window = self._window(timeframe)
        kept = window.append(bars)
        bar_ts = _latest_ts(bars)
        self._cycles += 1

        def report(status: str, **kw: Any) -> CycleReport:
            cycle_ms = self.cycle_latency.since(started) * 1000
            self._publish()
            return CycleReport(now, bar_ts, timeframe, status, kept, cycle_ms=cycle_ms, **kw)

        if self.control.deleted:
            return report("deleted", intents=0)
        if not self._ensure_ready(now):
            return report("not_ready", intents=0)
        fills = self._process_events()
        if self.control.deleting:
            self._try_purge()
            return report("deleting", intents=0, fills=fills)
        book = self._book()
        if self._expire_entries(now, book):
            book = self._book()
        features = EventFeatures(self._windows)
        intents = self._intents(timeframe, _bar_times(bars), features)
        results: list[ExecutionResult] = []
        skipped: list[str] = []
        exits = [(s, i) for s, i in intents if i.action == "exit"]
        entries = [Candidate(s, i, timeframe) for s, i in intents if i.action == "entry"]
        results += self._strategy_exits(exits, book, skipped)
        if results:
            book = self._book()
        gated = self._gate_entries(entries, book, now, skipped)
        outcome = self._entries.run(
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
            self._balance = outcome.balance
        results += outcome.results
        skipped += outcome.skipped
        fills += self._process_events()
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
        self._ensure_ready(now)
        if self.control.deleting:
            self._process_events()
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
                self.blocked = self._ledger.has_open_discrepancies(self.account_id)
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
            self._process_events()
            self._try_purge()
        return outcome

    def _cancel_entries(self) -> str:
        self._process_events()
        book = self._book()
        entries = [o for o in book.open_orders if not is_exit_order(o, by_symbol(book))]
        cancelled, errors = self._exits.cancel(entries)
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
        book = self._book()
        if book.positions or book.open_orders:
            return False
        if self._purger is None:
            self._alert("purge_unavailable", {"why": "no purger configured; the account stays halted"})
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


def _latest_ts(bars: pl.DataFrame) -> datetime | None:
    if bars.height == 0:
        return None
    value = bars.get_column("ts").max()
    return value if isinstance(value, datetime) else None


def _bar_times(bars: pl.DataFrame) -> dict[str, datetime]:
    """Each symbol's newest bar start (plain Python: a bar event has a row or so per symbol)."""
    last: dict[str, datetime] = {}
    for symbol, ts in zip(bars.get_column("symbol").to_list(), bars.get_column("ts").to_list(), strict=True):
        if ts is not None and (symbol not in last or ts > last[symbol]):
            last[symbol] = ts
    return last
