"""``MessageBus``: the account kernel's in-process publish/subscribe of typed messages.

Handlers are called in the order they subscribed, on the publishing thread. A handler
subscribed with ``critical=True`` (the learning snapshots) raises through the publisher, so
the message is delivered again from the ledger cursor; any other handler (the event log, the
notifications, metrics, alerts) is isolated: its error is logged and counted, trading goes on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
M = TypeVar("M")


class MessageBus:
    """Typed messages (``core.messages``) to the handlers subscribed to their type."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[tuple[Callable[[Any], None], bool]]] = defaultdict(list)
        self.errors = 0

    def subscribe(self, kind: type[M], handler: Callable[[M], None], *, critical: bool = False) -> None:
        """Call ``handler`` with every message of type ``kind`` published from now on."""
        self._handlers[kind].append((handler, critical))

    def wants(self, kind: type[Any]) -> bool:
        """Whether anyone listens to ``kind`` (publishers skip building unwanted messages)."""
        return bool(self._handlers.get(kind))

    def publish(self, message: object) -> None:
        for handler, critical in self._handlers.get(type(message), ()):
            if critical:
                handler(message)
                continue
            try:
                handler(message)
            except Exception:
                self.errors += 1
                log.exception("subscriber %r failed on %s", handler, type(message).__name__)
