"""What ``AccountService`` reports: a recovery at start-up and each bar cycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.execution import ExecutionOutcome, ExecutionResult, ReconcileResult
from core.trading.commands import ControlState


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """Start-up (and crash) recovery. ``ready``: reconciled with the broker; ``blocked``: open
    discrepancies refuse trading until resolved or acknowledged."""

    account_id: str
    ts: datetime
    ready: bool
    blocked: bool
    reconcile: ReconcileResult | None
    error: str
    positions: int
    open_orders: int
    protections: int
    fills_processed: int
    control: ControlState

    @property
    def can_trade(self) -> bool:
        return self.ready and not self.blocked and self.control.entries_allowed


@dataclass(frozen=True, slots=True)
class CycleReport:
    """One bar event. ``latency_ms``: bar event → order submitted, per submitted order."""

    ts: datetime
    bar_ts: datetime | None
    timeframe: str
    status: str
    bars: int
    intents: int
    results: tuple[ExecutionResult, ...] = ()
    skipped: tuple[str, ...] = ()
    fills: int = 0
    model_versions: dict[str, str] = field(default_factory=dict)
    fallbacks: tuple[str, ...] = ()
    latency_ms: tuple[float, ...] = ()
    cycle_ms: float = 0.0

    def count(self, outcome: ExecutionOutcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def submitted(self) -> int:
        return self.count(ExecutionOutcome.SUBMITTED)

    @property
    def denied(self) -> int:
        return self.count(ExecutionOutcome.DENIED)
