"""The ``Ledger`` port: the durable record of orders, fills, positions, guards and events.

Every write is one transaction. Writes are idempotent where a retry or a replayed broker event
may repeat them: an order is keyed by its ``ClientOrderId``, a fill by its ``FillId``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Fill,
    Order,
    OrderStatus,
    Position,
    StrategyId,
)

NOT_RECEIVED_BY_BROKER = "not received by broker"
"""The reason of a write-ahead (PENDING) order that reconciliation found the broker never got.

Such an order may be re-armed: the same signal derives the same ``ClientOrderId``, and the
broker deduplicates on it, so submitting it again can never create a second order."""


class ReservationOutcome(StrEnum):
    RESERVED = "reserved"
    """A new PENDING order was written (and the guard taken, when asked)."""
    REARMED = "rearmed"
    """An order rejected as not received by the broker was put back to PENDING."""
    EXISTS = "exists"
    """The client order id is already recorded; nothing was written."""
    GUARD_HELD = "guard_held"
    """The once-per-day guard is held by another live order; nothing was written."""


@dataclass(frozen=True, slots=True)
class GuardKey:
    """What the once-per-day guard counts: one trade per (account, strategy, session)."""

    account_id: AccountId
    strategy: StrategyId
    session: date


@dataclass(frozen=True, slots=True)
class Reservation:
    """The result of ``Ledger.reserve``: ``order`` is the recorded order (or the guard holder)."""

    outcome: ReservationOutcome
    order: Order

    @property
    def reserved(self) -> bool:
        """True when the caller now owns a PENDING order and should submit it."""
        return self.outcome in (ReservationOutcome.RESERVED, ReservationOutcome.REARMED)


class SnapshotKind(StrEnum):
    ENTRY = "entry"
    DAILY = "daily"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class Denial:
    """A suggestion the risk engine refused, with the rule that refused it."""

    account_id: AccountId
    client_order_id: ClientOrderId
    strategy: StrategyId
    rule: str
    reason: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A difference between the ledger and the broker found by reconciliation."""

    id: int
    account_id: AccountId
    kind: str
    subject: str
    ledger_value: str
    broker_value: str
    detail: str
    detected_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Unresolved and unacknowledged: trading in the account is refused."""
        return self.acknowledged_at is None and self.resolved_at is None


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: int
    account_id: AccountId
    kind: SnapshotKind
    ts: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One entry of the append-only event log; ``seq`` increases by one per event."""

    seq: int
    ts: datetime
    kind: str
    account_id: AccountId | None
    payload: Mapping[str, Any]


@runtime_checkable
class Ledger(Protocol):
    """The durable record that core services write to and rebuild from."""

    def batch(self) -> AbstractContextManager[None]:
        """Writes made inside the block share one transaction, committed (durably) when it ends.

        Nothing of it is recorded if the block raises; a write that raises inside it is undone
        alone. Group the writes of one event so that they cost one commit.
        """
        ...

    # -- orders ----------------------------------------------------------------------------
    def reserve(self, order: Order, session: date, guard: bool = False) -> Reservation:
        """Write ``order`` as PENDING before it is submitted (write-ahead), atomically.

        With ``guard``, first check the once-per-day guard of (account, strategy, session): a
        holder that is not cancelled, rejected or expired blocks. Check and insert are one
        transaction, so two concurrent callers can never both reserve.
        """
        ...

    def record_order(self, order: Order) -> bool:
        """Record the broker's view of ``order`` (adopting it if unknown).

        An update that would move the order backwards (a stale event) is ignored. Returns True
        when something changed.
        """
        ...

    def get_order(self, client_order_id: ClientOrderId) -> Order | None: ...

    def orders(self, account_id: AccountId, statuses: Iterable[OrderStatus] | None = None) -> list[Order]:
        """Orders of the account (all, or those in ``statuses``) oldest first."""
        ...

    def guard_holder(self, key: GuardKey) -> Order | None:
        """The order that holds the guard now, if it still counts as a trade."""
        ...

    # -- fills, positions, balances --------------------------------------------------------
    def record_fill(self, fill: Fill) -> bool:
        """Record ``fill`` and update its position in the same transaction.

        Returns False (and changes nothing) when the fill id is already recorded.
        """
        ...

    def fills(self, account_id: AccountId) -> list[Fill]:
        """Fills of the account in the order they were recorded."""
        ...

    def positions(self, account_id: AccountId) -> list[Position]:
        """Positions of the account, flat ones included."""
        ...

    def record_balance(self, balance: AccountBalance) -> None: ...

    def balance(self, account_id: AccountId) -> AccountBalance | None: ...

    # -- risk denials ----------------------------------------------------------------------
    def record_denial(self, denial: Denial) -> None: ...

    def denials(self, account_id: AccountId) -> list[Denial]: ...

    # -- reconciliation discrepancies ------------------------------------------------------
    def record_discrepancy(
        self,
        account_id: AccountId,
        kind: str,
        subject: str,
        ledger_value: str,
        broker_value: str,
        detail: str = "",
    ) -> Discrepancy | None:
        """Record a difference unless the same one (same values) is already unresolved.

        Returns the new discrepancy, or None when an identical one (open or acknowledged) exists.
        """
        ...

    def settle_discrepancies(self, account_id: AccountId, still_differing: Collection[str]) -> int:
        """Mark resolved every unresolved discrepancy whose subject is not in ``still_differing``."""
        ...

    def discrepancies(self, account_id: AccountId, open_only: bool = False) -> list[Discrepancy]: ...

    def has_open_discrepancies(self, account_id: AccountId) -> bool: ...

    def acknowledge_discrepancies(self, account_id: AccountId, by: str) -> int:
        """Acknowledge every open discrepancy of the account; returns how many."""
        ...

    # -- snapshots and the event log -------------------------------------------------------
    def record_snapshot(
        self, account_id: AccountId, kind: SnapshotKind, ts: datetime, payload: Mapping[str, Any]
    ) -> int: ...

    def snapshots(self, account_id: AccountId, kind: SnapshotKind | None = None) -> list[Snapshot]: ...

    def append_event(self, kind: str, payload: Mapping[str, Any], account_id: AccountId | None = None) -> int:
        """Append an event; returns its sequence number."""
        ...

    def events(
        self,
        after_seq: int = 0,
        limit: int = 1000,
        account_id: AccountId | None = None,
        kind: str | None = None,
    ) -> list[LedgerEvent]:
        """Events with ``seq > after_seq`` in sequence order."""
        ...

    def latest_event(self, account_id: AccountId, kind: str) -> LedgerEvent | None: ...

    def close(self) -> None: ...
