"""``DeskClient``: everything the TUI reads from and sends to the desk, behind one interface.

The TUI is a client: it reads the account states and events the desk publishes to Redis, the
ledger (read-only) and the model registry, and sends overrides through the CLI's command path.
``RedisDeskClient`` (``tui.desk_client``) is the real one; ``FakeDeskClient`` (``tui.fake``)
serves pinned data for tests. Every method may block: the app calls them from worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.ports.cache import Event


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What the settings say of an account: its broker and paper or live."""

    id: str
    broker: str
    mode: str


@dataclass(frozen=True, slots=True)
class FillRow:
    ts: datetime
    symbol: str
    side: str
    quantity: str
    price: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class DenialRow:
    ts: datetime
    strategy: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class DiscrepancyRow:
    kind: str
    subject: str
    ledger_value: str
    broker_value: str
    state: str
    """``open``, ``acknowledged`` or ``resolved``."""


@dataclass(frozen=True, slots=True)
class AccountDetail:
    """The ledger's view of one account for the account screen (fills of its latest session)."""

    account_id: str
    session: str
    fills: tuple[FillRow, ...] = ()
    denials: tuple[DenialRow, ...] = ()
    discrepancies: tuple[DiscrepancyRow, ...] = ()
    error: str = ""


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One registered model version with its gates and lineage."""

    strategy: str
    version: str
    promoted: bool
    created_at: datetime
    gates: str
    """``pass``, ``fail`` or ``-`` (no report)."""
    metrics: Mapping[str, Any]
    lineage: Mapping[str, str]
    gate_rows: tuple[tuple[str, str, str, str, bool], ...] = ()
    """(gate, op, threshold, value, passed)."""
    history: tuple[str, ...] = ()
    """The strategy's promotion history, one line each, oldest first."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A scheduled task, its next due time and its last run."""

    name: str
    kind: str
    applies_to: str
    next_due: datetime | None
    last_due: datetime | None
    last_status: str
    last_detail: str


@dataclass(frozen=True, slots=True)
class PollRequest:
    """What one poll fetches: always states and new events; the rest when a screen shows it."""

    since_event: str | None
    account: str | None = None
    models: bool = False
    tasks: bool = False


@dataclass(frozen=True, slots=True)
class DeskPoll:
    """One poll's result. ``reachable`` False: Redis did not answer (``error`` says why)."""

    reachable: bool
    error: str = ""
    states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    events: Sequence[Event] = ()
    last_event: str | None = None
    detail: AccountDetail | None = None
    equity: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Each account's equity, one point per state update seen, oldest first."""
    models: Sequence[ModelRow] | None = None
    models_error: str = ""
    tasks: Sequence[TaskRow] | None = None
    tasks_error: str = ""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action did, one line per account or object it reached."""

    action: str
    ok: bool
    lines: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"{self.action}: " + "; ".join(self.lines)


class DeskClient(Protocol):
    """The TUI's one way to the desk (see the module docstring)."""

    @property
    def where(self) -> str:
        """Where the desk is read from, for the header (a Redis URL, ``fake``)."""
        ...

    def accounts(self) -> Sequence[AccountInfo]:
        """The configured accounts (paper or live, broker)."""
        ...

    def poll(self, request: PollRequest) -> DeskPoll:
        """Read what ``request`` asks for; never raises for an unreachable desk."""
        ...

    def pause(self, account_id: str, reason: str = "") -> ActionResult: ...

    def resume(self, account_id: str, reason: str = "") -> ActionResult: ...

    def acknowledge(self, account_id: str, reason: str = "") -> ActionResult:
        """Acknowledge the account's open reconciliation discrepancies (lifts the block)."""
        ...

    def flatten(self, account_id: str, reason: str = "") -> ActionResult: ...

    def kill_switch(self, flatten: bool, reason: str = "") -> ActionResult:
        """Halt every account (no entries, entry orders cancelled); then flatten if asked."""
        ...

    def resume_all(self, reason: str = "") -> ActionResult: ...

    def promote(self, strategy: str, version: str) -> ActionResult: ...

    def rollback(self, strategy: str) -> ActionResult: ...

    def close(self) -> None: ...
