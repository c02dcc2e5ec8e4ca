"""Each check turns facts into one ``Finding`` (ok or not, with a detail that names the problem).

The caller gathers the facts (ledger, run store, quote cache, disk) and ``HealthReport`` says
whether the desk is healthy. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from core.calendar import NEW_YORK, to_new_york
from core.model import Order, OrderStatus, Position, TimeInForce
from core.ports.ledger import LedgerEvent
from core.scheduling.runs import RunStatus, TaskRun

__all__ = [
    "Finding",
    "HealthReport",
    "broker_connectivity",
    "disk_space",
    "is_orphan",
    "ledger_integrity",
    "missing_labels",
    "open_positions_after_close",
    "orphan_orders",
    "quote_freshness",
    "session_start",
    "snapshot_freshness",
    "task_runs",
    "undelivered_alerts",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict; ``account`` is None for desk-wide checks."""

    check: str
    ok: bool
    detail: str
    account: str | None = None

    def line(self) -> str:
        where = f"{self.account}: " if self.account else ""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.check:<22} {where}{self.detail}"


@dataclass(frozen=True, slots=True)
class HealthReport:
    findings: tuple[Finding, ...]

    @property
    def healthy(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def lines(self) -> list[str]:
        verdict = "healthy" if self.healthy else f"UNHEALTHY ({len(self.failures)} failing)"
        return [*(f.line() for f in self.findings), verdict]


def task_runs(runs: Iterable[TaskRun], since: datetime) -> Finding:
    """Failed or missed scheduled runs due at or after ``since``."""
    bad = [r for r in runs if r.due >= since and r.status in (RunStatus.FAILED, RunStatus.MISSED)]
    if not bad:
        return Finding("task_runs", True, "no failed or missed run")
    detail = ", ".join(f"{r.task} {r.status.value} ({r.due:%Y-%m-%d %H:%M} UTC)" for r in bad)
    return Finding("task_runs", False, detail)


def broker_connectivity(
    account: str, events: Sequence[LedgerEvent], state: Mapping[str, object] | None = None
) -> Finding:
    """Disconnected when the account's latest broker news (``events``: its ``trading.alert``
    and ``trading.recovered`` events) is an outage or a failed reconnect, or the state board
    says it is recovering."""
    news = [
        e
        for e in events
        if (e.kind == "trading.alert" and e.payload.get("alert") == "broker_unavailable")
        or e.kind == "trading.recovered"
    ]
    last = max(news, key=lambda e: e.seq) if news else None
    if last is not None and (last.kind == "trading.alert" or last.payload.get("error")):
        since = f"{last.ts:%Y-%m-%d %H:%M} UTC"
        return Finding("broker", False, f"broker disconnected since {since} (no reconnect after)", account)
    if state is not None and state.get("status") == "recovering":
        return Finding("broker", False, "broker not reconciled yet (recovering)", account)
    return Finding("broker", True, "connected" if last is not None else "no outage recorded", account)


def quote_freshness(ages: Mapping[str, float | None], max_age_seconds: float, market_open: bool) -> Finding:
    """Quote age per symbol (None: none cached); stale only matters while the market is open."""
    if not market_open:
        return Finding("quotes", True, "market closed: not checked")
    stale = {s: a for s, a in ages.items() if a is None or a > max_age_seconds}
    if not stale:
        return Finding("quotes", True, f"{len(ages)} symbols fresh (<= {max_age_seconds:g} s)")
    detail = ", ".join(f"{s} {'none' if a is None else f'{a:.0f} s'}" for s, a in sorted(stale.items()))
    return Finding("quotes", False, f"stale quotes: {detail}")


def snapshot_freshness(
    account: str, open_positions: int, latest_daily: datetime | None, session: date
) -> Finding:
    """An account holding positions needs a daily snapshot of ``session``."""
    if open_positions == 0:
        return Finding("snapshots", True, "no open position", account)
    if latest_daily is None or to_new_york(latest_daily).date() < session:
        when = "never" if latest_daily is None else f"last {latest_daily:%Y-%m-%d}"
        return Finding("snapshots", False, f"no daily snapshot for {session} ({when})", account)
    return Finding("snapshots", True, f"daily snapshot of {session}", account)


def open_positions_after_close(account: str, positions: Iterable[Position], intraday: bool) -> Finding:
    """An intraday account must be flat after the close."""
    held = [f"{p.instrument.id} {p.net}" for p in positions if not p.is_flat]
    if intraday and held:
        return Finding("positions_after_close", False, "open after the close: " + ", ".join(held), account)
    return Finding(
        "positions_after_close", True, f"{len(held)} held" + ("" if intraday else " (not intraday)"), account
    )


def is_orphan(order: Order, session: date) -> bool:
    """Open after the close: never acknowledged, from an earlier session, or a day order."""
    return (
        order.status is OrderStatus.PENDING
        or to_new_york(order.created_at).date() < session
        or order.time_in_force is TimeInForce.DAY
    )


def orphan_orders(account: str, open_orders: Iterable[Order], session: date) -> Finding:
    orphans = [f"{o.client_order_id} {o.status.value}" for o in open_orders if is_orphan(o, session)]
    if orphans:
        return Finding("orphan_orders", False, ", ".join(orphans), account)
    return Finding("orphan_orders", True, "none", account)


def missing_labels(missing: Mapping[str, Sequence[str]]) -> Finding:
    """Symbols per timeframe with bars of the session but no labels."""
    gaps = {tf: list(s) for tf, s in missing.items() if s}
    if not gaps:
        return Finding("labels", True, "every symbol with bars is labelled")
    return Finding("labels", False, "; ".join(f"{tf}: {', '.join(s)}" for tf, s in sorted(gaps.items())))


def disk_space(path: str, free_bytes: int, total_bytes: int, min_free_bytes: int) -> Finding:
    gib = free_bytes / 2**30
    detail = f"{gib:.1f} GiB free of {total_bytes / 2**30:.1f} GiB at {path}"
    return Finding(
        "disk", free_bytes >= min_free_bytes, detail if free_bytes >= min_free_bytes else "low: " + detail
    )


def undelivered_alerts(channels: Sequence[str]) -> Finding:
    """Alerts a channel could not deliver after its retries (one channel name per failure)."""
    if not channels:
        return Finding("notifications", True, "every alert delivered")
    counts = {c: channels.count(c) for c in sorted(set(channels))}
    return Finding(
        "notifications", False, "undelivered: " + ", ".join(f"{n} by {c}" for c, n in counts.items())
    )


def ledger_integrity(problems: Sequence[str]) -> Finding:
    if problems:
        return Finding("ledger_integrity", False, "; ".join(problems[:10]))
    return Finding("ledger_integrity", True, "integrity check passed, positions match fills")


def session_start(session: date) -> datetime:
    """Midnight New York of ``session``: runs due from then on belong to the session's day."""
    return datetime.combine(session, time(0), tzinfo=NEW_YORK)
