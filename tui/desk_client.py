"""``RedisDeskClient``: the ``DeskClient`` on a running desk (Redis, the ledger read-only, the registry).

Redis is reached by URL (a cluster's, or the embedded server's unix socket; the TUI never starts
one). The ledger is opened read-only (SQLite ``mode=ro``: the TUI cannot write to it, nor run
its migrations); the model registry and the scheduler's run table are read like the CLI reads
them. Actions go through ``tui.actions.DeskActions`` (the CLI's command path).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from adapters.cache import RedisEventLog, RedisStateBoard, client_from_url
from adapters.cache.redis_conn import EmbeddedRedis
from adapters.ledger import SqliteLedger
from adapters.ledger.task_runs import SqliteRunStore
from configs import Settings
from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock, LiveClock
from core.errors import RaydeskError
from core.model import AccountId
from core.scheduling import Scheduler, default_schedule
from training.registry import ModelRegistry, ModelVersion
from tui.actions import DeskActions
from tui.client import (
    AccountDetail,
    AccountInfo,
    ActionResult,
    DenialRow,
    DeskPoll,
    DiscrepancyRow,
    FillRow,
    ModelRow,
    PollRequest,
    TaskRow,
)

FIRST_EVENTS: Final = 200
"""Events shown when the TUI starts (the latest ones)."""
EVENTS_PER_POLL: Final = 500
EQUITY_POINTS: Final = 240
DENIALS_SHOWN: Final = 50


def _read_only(location: str | Path, timeout_seconds: float) -> sqlite3.Connection:
    path = Path(location).resolve()
    if not path.exists():
        raise FileNotFoundError(f"no ledger at {path}")
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=ro",
        uri=True,
        timeout=timeout_seconds,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_seconds * 1000)}")
    return conn


class ReadOnlyLedger(SqliteLedger):
    """The SQLite ledger opened ``mode=ro``; its schema is read as it is, never migrated."""

    def __init__(self, path: str | Path, clock: Clock | None = None) -> None:
        super().__init__(path, clock, timeout_seconds=5.0, schema_version=0)

    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> sqlite3.Connection:
        return _read_only(location, timeout_seconds)


class ReadOnlyRunStore(SqliteRunStore):
    """The scheduler's ``task_runs`` table, read-only."""

    @staticmethod
    def _open(location: str | Path, timeout_seconds: float) -> sqlite3.Connection:
        return _read_only(location, timeout_seconds)


def redis_url_of(settings: Settings) -> str:
    """The desk's Redis: the configured URL, else the embedded server's socket (never started here)."""
    return settings.redis.url or EmbeddedRedis(settings.redis.embedded_path).unix_url


class RedisDeskClient:
    """The desk as ``settings`` describe it; ``registry_root``: the model registry's folder."""

    def __init__(
        self,
        settings: Settings,
        registry_root: Path,
        *,
        clock: Clock | None = None,
        attach_ray: bool = True,
        by: str | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or LiveClock()
        self.url = redis_url_of(settings)
        self._redis = client_from_url(self.url)
        self._board = RedisStateBoard(self._redis)
        self._events = RedisEventLog(self._redis)
        self._registry_root = Path(registry_root)
        self._ledger_path = Path(settings.ledger.path)
        self._ledger: ReadOnlyLedger | None = None
        self._runs: ReadOnlyRunStore | None = None
        self._equity: dict[str, deque[float]] = {}
        self._equity_ts: dict[str, str] = {}
        self._schedule = Scheduler(default_schedule(), MarketCalendar(), self._clock)
        self.actions = DeskActions(
            settings, self._registry_root, self._events, self._clock, attach_ray=attach_ray, by=by
        )

    @property
    def where(self) -> str:
        return self.url

    def accounts(self) -> Sequence[AccountInfo]:
        return [AccountInfo(a.id, a.broker, a.mode) for a in self._settings.accounts]

    # -- reading -----------------------------------------------------------------------------
    def poll(self, request: PollRequest) -> DeskPoll:
        try:
            states = {a: s for a in self._board.accounts() if (s := self._board.get_account_state(a))}
            if request.since_event is None:
                events = self._events.tail(FIRST_EVENTS)
            else:
                events = self._events.read(request.since_event, EVENTS_PER_POLL)
        except RaydeskError as exc:
            return DeskPoll(reachable=False, error=str(exc))
        self._track_equity(states)
        last = events[-1][0] if events else request.since_event
        models, models_error = self._models() if request.models else (None, "")
        tasks, tasks_error = self._tasks() if request.tasks else (None, "")
        detail = None
        if request.account is not None:
            detail = self._detail(request.account, states.get(request.account))
        return DeskPoll(
            reachable=True,
            states=states,
            events=events,
            last_event=last,
            detail=detail,
            equity={a: tuple(v) for a, v in self._equity.items()},
            models=models,
            models_error=models_error,
            tasks=tasks,
            tasks_error=tasks_error,
        )

    def _track_equity(self, states: dict[str, dict[str, Any]]) -> None:
        for account, state in states.items():
            balance = state.get("balance")
            if not isinstance(balance, dict) or state.get("ts") == self._equity_ts.get(account):
                continue
            self._equity_ts[account] = str(state.get("ts"))
            self._equity.setdefault(account, deque(maxlen=EQUITY_POINTS)).append(float(balance["equity"]))

    def _ledger_reader(self) -> ReadOnlyLedger:
        if self._ledger is None:
            self._ledger = ReadOnlyLedger(self._ledger_path, self._clock)
        return self._ledger

    def _detail(self, account_id: str, state: dict[str, Any] | None) -> AccountDetail:
        ts = state.get("ts") if state else None
        session = to_new_york(datetime.fromisoformat(ts) if ts else self._clock.now()).date()
        try:
            ledger = self._ledger_reader()
            account = AccountId(account_id)
            fills = [f for f in ledger.fills(account) if to_new_york(f.ts).date() == session]
            denials = ledger.denials(account)[-DENIALS_SHOWN:]
            discrepancies = ledger.discrepancies(account)
        except (sqlite3.Error, OSError, RaydeskError) as exc:
            return AccountDetail(account_id, session.isoformat(), error=f"ledger: {exc}")
        return AccountDetail(
            account_id,
            session.isoformat(),
            fills=tuple(
                FillRow(
                    f.ts,
                    str(f.instrument.id),
                    f.side.value,
                    str(f.quantity.value),
                    str(f.price.value),
                    str(f.client_order_id),
                )
                for f in fills
            ),
            denials=tuple(DenialRow(d.ts, str(d.strategy), d.rule, d.reason) for d in reversed(denials)),
            discrepancies=tuple(
                DiscrepancyRow(
                    d.kind,
                    d.subject,
                    d.ledger_value,
                    d.broker_value,
                    "open" if d.is_open else "resolved" if d.resolved_at else "acknowledged",
                )
                for d in discrepancies
                if d.resolved_at is None
            ),
        )

    def _models(self) -> tuple[list[ModelRow] | None, str]:
        if not self._registry_root.is_dir():
            return [], f"no model registry at {self._registry_root}"
        try:
            registry = ModelRegistry(self._registry_root, self._clock)
            history = {s: registry.history(s) for s in registry.strategies()}
            lines = {
                s: [f"{e.at:%Y-%m-%d %H:%M} {e.action} {e.version} (was {e.previous or '-'})" for e in h]
                for s, h in history.items()
            }
            rows = [model_row(m, lines.get(m.strategy, [])) for m in registry.list()]
        except (RaydeskError, OSError) as exc:
            return None, f"registry: {exc}"
        return rows, ""

    def _tasks(self) -> tuple[list[TaskRow] | None, str]:
        now = self._clock.now()
        try:
            if self._runs is None:
                self._runs = ReadOnlyRunStore(self._ledger_path)
            runs = self._runs
            last = {spec.name: runs.last_run(spec.name) for spec in self._schedule.specs}
        except (sqlite3.Error, OSError) as exc:
            self._runs = None
            # Read-only, the run table cannot be created: it is missing until the scheduler runs.
            why = "none recorded in this ledger yet" if "readonly" in str(exc) else str(exc)
            last, error = {}, f"task runs: {why}"
        else:
            error = ""
        rows = []
        for spec in self._schedule.specs:
            run = last.get(spec.name)
            upcoming = Scheduler([spec], self._schedule.calendar, self._clock).next_due(now)
            rows.append(
                TaskRow(
                    spec.name,
                    spec.kind,
                    spec.applies_to,
                    None if upcoming is None else upcoming.due,
                    None if run is None else run.due,
                    "-" if run is None else str(run.status),
                    "" if run is None else run.detail or "",
                )
            )
        return rows, error

    # -- actions -----------------------------------------------------------------------------
    def _board_accounts(self) -> list[str]:
        """The accounts the kill switch reaches: those the desk publishes, else the configured."""
        configured = [a.id for a in self._settings.accounts]
        try:
            live = set(self._board.accounts())
        except RaydeskError:
            return configured
        return [a for a in configured if a in live] or configured

    def pause(self, account_id: str, reason: str = "") -> ActionResult:
        return self.actions.override("pause", [account_id], reason)

    def resume(self, account_id: str, reason: str = "") -> ActionResult:
        return self.actions.override("resume", [account_id], reason)

    def acknowledge(self, account_id: str, reason: str = "") -> ActionResult:
        return self.actions.override("acknowledge", [account_id], reason)

    def flatten(self, account_id: str, reason: str = "") -> ActionResult:
        return self.actions.override("flatten", [account_id], reason or "flatten from the TUI")

    def kill_switch(self, flatten: bool, reason: str = "") -> ActionResult:
        return self.actions.kill_switch(self._board_accounts(), flatten, reason)

    def resume_all(self, reason: str = "") -> ActionResult:
        return self.actions.override("resume_all", self._board_accounts(), reason)

    def promote(self, strategy: str, version: str) -> ActionResult:
        return self.actions.promote(strategy, version)

    def rollback(self, strategy: str) -> ActionResult:
        return self.actions.rollback(strategy)

    def close(self) -> None:
        for closer in (self._ledger, self._runs):
            if closer is not None:
                closer.close()
        self._redis.close()


def model_row(model: ModelVersion, history: Sequence[str]) -> ModelRow:
    """A registry entry as the models screen shows it."""
    report = model.gate_report
    gates = "-" if report is None else "pass" if report.get("passed") else "fail"
    start, end = model.data_window
    return ModelRow(
        strategy=model.strategy,
        version=model.version,
        promoted=model.promoted_at is not None,
        created_at=model.created_at,
        gates=gates,
        metrics=dict(model.metrics),
        lineage={
            "data window": f"{start:%Y-%m-%d} → {end:%Y-%m-%d}",
            "features": f"{len(model.features)} ({model.feature_hash[:12]})",
            "code version": model.code_version,
            "params": ", ".join(f"{k}={v}" for k, v in sorted(model.params.items())),
        },
        gate_rows=tuple(
            (
                str(g.get("name")),
                str(g.get("op")),
                str(g.get("threshold")),
                str(g.get("value")),
                bool(g.get("passed")),
            )
            for g in ([] if report is None else report.get("gates", []))
        ),
        history=tuple(history),
    )
