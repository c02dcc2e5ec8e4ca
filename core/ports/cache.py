"""Shared fast state: the latest quotes, the event log, account state for the TUI, commands.

Adapters (Redis by default) implement these; the ledger stays the source of truth. A cache that
cannot be reached raises a ``core.errors.TemporaryError``: trading code treats that exactly like a
missing quote (no fresh price, so no order).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable

from core.model.identifiers import AccountId, InstrumentId
from core.model.market import Quote

DEFAULT_MAX_QUOTE_AGE_S: Final = 30.0
"""A quote exactly this old is still fresh; a microsecond older is stale."""

BROADCAST: Final = "*"
"""The ``CommandInbox`` address that reaches every account."""

EVENT_KINDS: Final = frozenset(
    {"order", "fill", "denial", "alert", "task_run", "override", "snapshot", "reconcile", "system"}
)
"""The kinds raydesk publishes today; the log accepts any non-empty kind."""

Event = tuple[str, dict[str, Any]]
"""An event as read back: its log id (ordered) and ``{kind, account, ts, payload}``."""


@runtime_checkable
class QuoteCache(Protocol):
    """The latest quote per instrument, with its timestamp so readers can judge its age."""

    def put(self, quote: Quote) -> None:
        """Store ``quote`` as the latest of its instrument (last write wins)."""
        ...

    def put_many(self, quotes: Iterable[Quote]) -> None:
        """Store several quotes in one round trip."""
        ...

    def get(self, instrument_id: InstrumentId | str) -> Quote | None:
        """The latest quote, however old, or ``None``."""
        ...

    def get_fresh(
        self,
        instrument_id: InstrumentId | str,
        now: datetime | None = None,
        max_age_s: float = DEFAULT_MAX_QUOTE_AGE_S,
    ) -> Quote:
        """The latest quote if at most ``max_age_s`` old at ``now`` (``None``: the cache's clock).

        Missing or older raises ``core.errors.StaleData``, naming the age and the limit.
        """
        ...

    def get_many(self, instrument_ids: Iterable[InstrumentId | str]) -> dict[InstrumentId, Quote]:
        """The latest quotes of those instruments that have one."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """An append-only, bounded, ordered log of desk events (orders, fills, denials, alerts, ...).

    Each event is a mapping with ``kind``, ``account``, ``ts`` (timezone-aware) and ``payload``
    (JSON-able; ``Decimal``, datetimes and identifiers are written as strings). Read back, ``ts``
    is an ISO-8601 UTC string.
    """

    def publish(self, event: Mapping[str, Any]) -> str:
        """Append ``event``; returns its id (ids increase with publication order)."""
        ...

    def read(
        self,
        since_id: str | None = None,
        count: int = 100,
        kinds: Collection[str] | None = None,
    ) -> list[Event]:
        """Up to ``count`` events after ``since_id`` (exclusive; ``None``: from the oldest), oldest first."""
        ...

    def tail(self, count: int = 100, kinds: Collection[str] | None = None) -> list[Event]:
        """The latest ``count`` events (of ``kinds``), oldest first."""
        ...


@runtime_checkable
class StateBoard(Protocol):
    """The latest state of each account as the TUI shows it (a JSON-able mapping)."""

    def set_account_state(self, account_id: AccountId | str, state: Mapping[str, Any]) -> None: ...

    def get_account_state(self, account_id: AccountId | str) -> dict[str, Any] | None: ...

    def accounts(self) -> list[str]:
        """The accounts with a state, sorted."""
        ...


@runtime_checkable
class CommandInbox(Protocol):
    """Commands from the TUI or the CLI to account actors, delivered in order, each once."""

    def push(self, account_id: AccountId | str, command: Mapping[str, Any]) -> None:
        """Queue ``command`` for ``account_id``, or for every known account with ``BROADCAST``."""
        ...

    def pop_all(self, account_id: AccountId | str) -> list[dict[str, Any]]:
        """Take every queued command of ``account_id`` atomically, oldest first."""
        ...
