"""The ``Notifier`` port: tell a human what the desk did (fills, errors, kill switch, reports).

A ``Notifier`` delivers one ``Notification`` over one channel (a Slack-compatible webhook,
e-mail) and reports how it went in a ``DeliveryResult``; it never raises into its caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

from core.clock import ensure_utc
from core.errors import InvalidValue

__all__ = [
    "URGENT_KINDS",
    "DeliveryResult",
    "DeliveryStatus",
    "Notification",
    "NotificationKind",
    "Notifier",
    "NotifyPreference",
    "Severity",
]

NotificationKind = Literal[
    "fill", "order", "error", "kill_switch", "disconnect", "daily_report", "digest", "alert"
]
Severity = Literal["info", "warning", "critical"]
NotifyPreference = Literal["immediate", "daily", "weekly", "never"]
"""Mirrors ``configs.accounts.Notify`` (``core`` cannot import ``configs``)."""
DeliveryStatus = Literal["sent", "queued", "dropped", "failed"]

URGENT_KINDS: frozenset[NotificationKind] = frozenset({"kill_switch", "disconnect", "error"})
"""Kinds sent at once even to accounts on a daily digest (never to accounts on ``never``)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for a human. ``account_id`` is None for desk-wide news."""

    kind: NotificationKind
    title: str
    body: str
    ts: datetime
    account_id: str | None = None
    severity: Severity = "info"
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InvalidValue("a notification needs a title")
        object.__setattr__(self, "ts", ensure_utc(self.ts))
        # A read-only copy, so a caller mutating its dict cannot change a frozen message.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    @property
    def urgent(self) -> bool:
        """Kill switch, disconnect, error, or anything critical: never held for a digest."""
        return self.kind in URGENT_KINDS or self.severity == "critical"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How a delivery went. ``error`` never holds a secret; ``deliveries`` has one per channel."""

    ok: bool
    channel: str
    status: DeliveryStatus
    attempts: int = 0
    error: str | None = None
    deliveries: tuple[DeliveryResult, ...] = ()


@runtime_checkable
class Notifier(Protocol):
    """One delivery channel."""

    @property
    def name(self) -> str:
        """A log-safe channel name, e.g. ``webhook(hooks.slack.com)``."""
        ...

    def send(self, notification: Notification) -> DeliveryResult:
        """Deliver now (with the channel's bounded retries); never raises."""
        ...
