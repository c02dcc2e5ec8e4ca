"""``RoutedNotifier``: a channel that takes only some kinds (or alert names) and severities."""

from __future__ import annotations

from collections.abc import Collection

from core.ports.notify import DeliveryResult, Notification, Notifier, Severity

__all__ = ["RoutedNotifier"]

_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


class RoutedNotifier:
    """Forwards to ``inner`` what matches: a kind or ``fields["alert"]`` in ``kinds`` (empty:
    any), and a severity at least ``min_severity``. The rest is dropped as not this channel's."""

    def __init__(self, inner: Notifier, kinds: Collection[str] = (), min_severity: Severity = "info") -> None:
        self.inner = inner
        self.kinds = frozenset(kinds)
        self.min_severity = min_severity

    @property
    def name(self) -> str:
        return self.inner.name

    def takes(self, n: Notification) -> bool:
        if _RANK[n.severity] < _RANK[self.min_severity]:
            return False
        return not self.kinds or n.kind in self.kinds or n.fields.get("alert") in self.kinds

    def send(self, notification: Notification) -> DeliveryResult:
        if not self.takes(notification):
            return DeliveryResult(ok=True, channel=self.name, status="dropped")
        return self.inner.send(notification)
