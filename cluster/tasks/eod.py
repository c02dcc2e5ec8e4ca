"""After the close: label completion (close + 90 min) and the health check (close + 105 min)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from adapters.notify import NotificationDispatcher
from adapters.store import BarStore
from cluster.tasks.common import (
    INTRADAY_STRATEGIES,
    DeskPaths,
    account_is_intraday,
    merge_partition,
    read_partitions,
    session_of,
    sessions_back,
)
from configs import Settings
from core.calendar import MarketCalendar
from core.clock import Clock
from core.features import intraday_features, swing_features
from core.features.labels import forward_return, triple_barrier
from core.features.sessions import session_expr
from core.model import AccountId, Order, OrderStatus, TimeInForce
from core.ports.ledger import Ledger
from core.ports.notify import Notification
from core.scheduling import RunStatus, RunStore

__all__ = ["LabelSpec", "complete_labels", "health_check"]

LABEL_KIND = "labels"
_SWING_WARMUP = 70  # daily rows before the labelled ones: the swing ATR reads 56 true ranges
_OPEN = [s for s in OrderStatus if s.is_open]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """Label horizon in bars and the triple-barrier widths in ATRs (as ``training.dataset``)."""

    horizon: int = 5
    up: float = 2.0
    down: float = 2.0


def _label(frame: pl.DataFrame, spec: LabelSpec, per_session: bool) -> pl.DataFrame:
    frame = forward_return(frame, spec.horizon, per_session=per_session)
    frame = triple_barrier(frame, spec.horizon, up=spec.up, down=spec.down, per_session=per_session)
    cols = ["symbol", "ts", "session", "fwd_return", "fwd_end_ts", "label", "label_return", "label_bars"]
    return frame.select(*cols, "label_end_ts")


def _labels_for(
    store: BarStore, calendar: MarketCalendar, timeframe: str, symbols: list[str], day: date, spec: LabelSpec
) -> pl.DataFrame:
    if timeframe == "1d":
        window = sessions_back(calendar, day, spec.horizon + _SWING_WARMUP)
        bars = store.read("1d", symbols, window[0], day)
        if bars.height == 0:
            return bars
        frame = _label(swing_features(bars).with_columns(session_expr()), spec, per_session=False)
        # At this close the rows of the last ``horizon`` sessions gain (part of) their outcome.
        return frame.filter(pl.col("session") >= sessions_back(calendar, day, spec.horizon + 1)[0])
    bars = store.read(timeframe, symbols, day, day)
    if bars.height == 0:
        return bars
    return _label(intraday_features(bars), spec, per_session=True).filter(pl.col("session") == day)


def complete_labels(
    settings: Settings,
    paths: DeskPaths,
    store: BarStore,
    calendar: MarketCalendar,
    session: date,
    spec: LabelSpec | None = None,
    timeframes: Sequence[str] = ("1m", "1d"),
) -> str:
    """Label the rows of ``session`` now that its outcome is known; idempotent.

    Forward return and the long-side triple barrier (``core.features.labels``), intraday per
    session (complete at the close), daily across sessions (the last ``horizon`` sessions'
    rows are rewritten until complete). Stored in ``data_dir/labels/timeframe=/symbol=/``,
    merged by ``ts``: a rerun writes the same rows again.
    """
    spec = spec or LabelSpec()
    symbols = list(settings.data.symbols)
    stored = set(store.timeframes())
    parts = []
    for tf in timeframes:
        if tf not in stored:
            continue
        rows = _labels_for(store, calendar, tf, symbols, session, spec)
        if rows.height:
            merge_partition(paths.data_dir, LABEL_KIND, tf, rows)
        fwd = rows["fwd_return"].is_not_null().sum() if rows.height else 0
        barrier = rows["label"].is_not_null().sum() if rows.height else 0
        parts.append(f"{tf} {rows.height} rows ({fwd} with forward return, {barrier} with barrier label)")
    if not parts:
        return f"labels {session}: no bars stored"
    return f"labels {session}: " + "; ".join(parts)


def _orphan(order: Order, session: date) -> bool:
    """Open after the close: never acknowledged, from an earlier session, or a day order."""
    return (
        order.status is OrderStatus.PENDING
        or session_of(order.created_at) < session
        or order.time_in_force is TimeInForce.DAY
    )


def _missing_labels(
    paths: DeskPaths, store: BarStore, symbols: list[str], session: date
) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for tf in sorted(set(store.timeframes()) & {"1m", "1d"}):
        bars = store.read(tf, symbols, session, session)
        have_bars = set(bars["symbol"].unique().to_list()) if bars.height else set()
        labels = read_partitions(paths.data_dir, LABEL_KIND, tf, symbols)
        done = (
            set(labels.filter(pl.col("session") == session)["symbol"].unique().to_list())
            if labels.height
            else set()
        )
        if have_bars - done:
            missing[tf] = sorted(have_bars - done)
    return missing


def _runs(run_store: RunStore | None, session: date) -> list[str]:
    if run_store is None:
        return []
    bad = []
    for run in run_store.list():
        if run.session != session:
            continue
        if run.status is RunStatus.FAILED or (
            run.status is RunStatus.MISSED and run.task.startswith("flatten")
        ):
            bad.append(f"{run.task} {run.status.value}: {run.detail or ''}".strip())
    return bad


def _alert(
    ledger: Ledger, notifier: NotificationDispatcher, clock: Clock, account: str | None, found: dict[str, Any]
) -> None:
    payload = {"source": "health_check", **found}
    ledger.append_event("alert", payload, None if account is None else AccountId(account))
    body = "\n".join(f"{k}: {v}" for k, v in found.items() if k != "session")
    notifier.notify(
        Notification(
            kind="alert",
            title=f"Health check {found['session']}: {account or 'desk'} needs attention",
            body=body,
            ts=clock.now(),
            account_id=account,
            severity="warning",
        )
    )


def _counts(found: dict[str, Any]) -> str:
    """``"2 open positions, 1 failed or missed runs"``: one count per finding."""
    sizes = {k: sum(map(len, v.values())) if isinstance(v, dict) else len(v) for k, v in found.items()}
    names = {"runs": "failed or missed runs"}
    return ", ".join(f"{n} {names.get(k, k.replace('_', ' '))}" for k, n in sizes.items())


def health_check(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    ledger: Ledger,
    store: BarStore,
    notifier: NotificationDispatcher,
    session: date,
    run_store: RunStore | None = None,
    intraday: frozenset[str] = INTRADAY_STRATEGIES,
) -> str:
    """Flag what should not be there after ``session``'s close; an ``alert`` event and notification each.

    Per account: open positions of an intraday account (one trading an ``intraday`` strategy)
    and orphan orders (open orders that are pending, from an earlier session, or day orders).
    Desk-wide: symbols with bars but no labels for the session, and (with ``run_store``)
    failed runs and missed flatten passes of the session.
    """
    flagged: list[str] = []
    for account in settings.accounts:
        aid = AccountId(account.id)
        found: dict[str, Any] = {}
        if account_is_intraday(account.strategies, intraday):
            open_positions = [f"{p.instrument.id} {p.net}" for p in ledger.positions(aid) if not p.is_flat]
            if open_positions:
                found["open_positions"] = open_positions
        orphans = [
            f"{o.client_order_id} {o.status.value}" for o in ledger.orders(aid, _OPEN) if _orphan(o, session)
        ]
        if orphans:
            found["orphan_orders"] = orphans
        if found:
            _alert(ledger, notifier, clock, account.id, {"session": session.isoformat(), **found})
            flagged.append(
                f"{account.id}: " + ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in found.items())
            )
    desk: dict[str, Any] = {}
    missing = _missing_labels(paths, store, list(settings.data.symbols), session)
    if missing:
        desk["missing_labels"] = missing
    runs = _runs(run_store, session)
    if runs:
        desk["runs"] = runs
    if desk:
        _alert(ledger, notifier, clock, None, {"session": session.isoformat(), **desk})
        flagged.append(f"desk: {_counts(desk)}")
    if not flagged:
        return f"health {session}: nothing flagged"
    return f"health {session}: " + "; ".join(flagged)
