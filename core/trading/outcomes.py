"""What the account kernel's steps return: small frozen values (picklable, for the actor's callers)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """One bar event: processed (the cycle's figures) or ``replayed`` (seen before: no effect)."""

    seq: int
    replayed: bool = False
    status: str = ""
    bars: int = 0
    intents: int = 0
    fills: int = 0
    submitted: int = 0
    denied: int = 0
    skipped: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    latency_ms: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class StepFailure:
    """An account could not take a step: ``actor_died`` (Ray restarts it) or ``task_failed``."""

    error: str
    detail: str


@dataclass(frozen=True, slots=True)
class OptionsOutcome:
    """The Trident entry cycle: its status, attempts, the order sent and why."""

    status: str
    attempts: int = 0
    order: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotOutcome:
    daily_snapshots: int
    open_trades: int


@dataclass(frozen=True, slots=True)
class FlattenOutcome:
    exits: int
    held_overnight: bool = False
    """A swing account keeps its positions over the close: nothing was sent."""


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """An override as applied: accepted or not, what it did, the control state after it."""

    command: str
    accepted: bool
    detail: str
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KernelHealth:
    """What the health check reports without touching the account (it may be mid-cycle)."""

    account_id: str
    started: bool
    last_seq: int | None
    last_event_at: str | None
    events: int
    replays: int
    pid: int
    recovery_ready: bool | None = None


@dataclass(frozen=True)
class AccountAudit:
    """Venue and ledger side by side: orders, fills, positions and equity (for checks)."""

    account_id: str
    venue_orders: list[str]
    venue_fills: list[str]
    ledger_orders: dict[str, str]
    ledger_fills: list[str]
    venue_positions: dict[str, str]
    ledger_positions: dict[str, str]
    equity: str
    denials: Counter[str]
    open_discrepancies: int

    @property
    def lost_fills(self) -> list[str]:
        """Venue fills the ledger does not have."""
        return sorted(set(self.venue_fills) - set(self.ledger_fills))

    @property
    def unknown_orders(self) -> list[str]:
        """Venue orders the ledger does not know."""
        return sorted(set(self.venue_orders) - set(self.ledger_orders))
