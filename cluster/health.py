"""``desk_health``: gathers the facts of every health check and returns a ``HealthReport``.

Failed and missed task runs (the run store shares the ledger's file), broker connectivity per
account, quote freshness (while the market is open) and daily-snapshot freshness, positions
of intraday accounts and orphan orders after the close, missing labels, alerts recorded as
undelivered, disk space, and the ledger's integrity. ``raydesk health`` and the scheduled check both call it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.ledger.integrity import integrity_problems
from adapters.ledger.task_runs import SqliteRunStore
from adapters.notify.setup import UNDELIVERED_FILE
from adapters.notify.undelivered import SqliteUndeliveredLog
from adapters.store import BarStore
from cluster.tasks.common import INTRADAY_STRATEGIES, DeskPaths, account_is_intraday
from cluster.tasks.eod import _missing_labels
from configs import Settings
from core.calendar import MarketCalendar, to_new_york
from core.health.checks import (
    Finding,
    HealthReport,
    broker_connectivity,
    disk_space,
    ledger_integrity,
    missing_labels,
    open_positions_after_close,
    orphan_orders,
    quote_freshness,
    session_start,
    snapshot_freshness,
    task_runs,
    undelivered_alerts,
)
from core.model import AccountId, OrderStatus
from core.ports.cache import QuoteCache
from core.ports.ledger import Ledger, LedgerEvent, SnapshotKind

__all__ = ["MIN_FREE_BYTES", "desk_health", "health_session"]

MIN_FREE_BYTES = 2**30
_OPEN = [s for s in OrderStatus if s.is_open]


def health_session(now: datetime, calendar: MarketCalendar) -> date:
    """The session a check at ``now`` is about: today's if it is a session, else the last one."""
    today = to_new_york(now).date()
    return today if calendar.is_session(today) else calendar.previous_session(today)


def desk_health(
    settings: Settings,
    ledger: Ledger,
    ledger_path: Path,
    paths: DeskPaths,
    now: datetime,
    *,
    quotes: QuoteCache | None = None,
    board: dict[str, dict[str, object]] | None = None,
    min_free_bytes: int = MIN_FREE_BYTES,
    calendar: MarketCalendar | None = None,
) -> HealthReport:
    """Every check for the session of ``now``; ``board`` is the state board's account states."""
    calendar = calendar or MarketCalendar()
    session = health_session(now, calendar)
    _, close = calendar.session_open_close(session)
    after_close = now >= close
    findings: list[Finding] = []
    runs = SqliteRunStore(ledger_path)
    try:
        findings.append(task_runs(runs.list(), session_start(session)))
    finally:
        runs.close()
    for account in settings.accounts:
        aid = AccountId(account.id)
        findings.append(
            broker_connectivity(account.id, _broker_news(ledger, aid), (board or {}).get(account.id))
        )
        positions = [p for p in ledger.positions(aid) if not p.is_flat]
        daily = ledger.snapshots(aid, SnapshotKind.DAILY)
        latest = max((s.ts for s in daily), default=None)
        if after_close:
            findings.append(snapshot_freshness(account.id, len(positions), latest, session))
            intraday = account_is_intraday(account.strategies, INTRADAY_STRATEGIES)
            findings.append(open_positions_after_close(account.id, positions, intraday))
            findings.append(orphan_orders(account.id, ledger.orders(aid, _OPEN), session))
    findings.append(_quotes(settings, quotes, now, calendar))
    if after_close:
        store = BarStore(paths.data_dir)
        findings.append(missing_labels(_missing_labels(paths, store, list(settings.data.symbols), session)))
    undelivered = paths.state_dir / UNDELIVERED_FILE
    if undelivered.is_file():
        since = session_start(session).astimezone(UTC).isoformat()
        findings.append(
            undelivered_alerts([e.channel for e in SqliteUndeliveredLog(undelivered).entries(since)])
        )
    usage = shutil.disk_usage(ledger_path.parent if ledger_path.parent.exists() else Path())
    findings.append(disk_space(str(ledger_path.parent), usage.free, usage.total, min_free_bytes))
    findings.append(ledger_integrity(integrity_problems(ledger_path)))
    return HealthReport(tuple(findings))


def _broker_news(ledger: Ledger, aid: AccountId) -> list[LedgerEvent]:
    """The last reconciliation and every broker alert after it."""
    recovered = ledger.latest_event(aid, "trading.recovered")
    after = 0 if recovered is None else recovered.seq
    alerts = ledger.events(after_seq=after, limit=10_000, account_id=aid, kind="trading.alert")
    return [*([] if recovered is None else [recovered]), *alerts]


def _quotes(
    settings: Settings, quotes: QuoteCache | None, now: datetime, calendar: MarketCalendar
) -> Finding:
    market_open = calendar.is_open(now)
    if quotes is None:
        if market_open:
            return Finding("quotes", False, "market open but no quote cache reachable")
        return quote_freshness({}, 0, market_open=False)
    ages: dict[str, float | None] = {}
    for symbol in settings.data.symbols:
        quote = quotes.get(symbol)
        ages[symbol] = None if quote is None else (now - quote.ts).total_seconds()
    limit = min(a.risk.stale_quote_seconds for a in settings.accounts) if settings.accounts else 30.0
    return quote_freshness(ages, limit, market_open)
