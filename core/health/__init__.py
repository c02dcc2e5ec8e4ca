"""The desk's health: pure checks over what the ledger, task runs, caches and disk report."""

from core.health.checks import (
    Finding,
    HealthReport,
    broker_connectivity,
    disk_space,
    is_orphan,
    ledger_integrity,
    missing_labels,
    open_positions_after_close,
    orphan_orders,
    quote_freshness,
    session_start,
    snapshot_freshness,
    task_runs,
)

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
]
