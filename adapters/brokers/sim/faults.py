"""Fault injection for tests: latency, dropped acknowledgements, forced rejections, disconnects.

Random faults draw from a ``random.Random(seed)``, so a seeded run fails the same way twice.
Faults are test hooks, not venue state: they are not persisted and start clean after a reopen.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import BrokerUnavailable, ConfigError
from core.model import Order
from core.ports.execution import Execution


@dataclass(slots=True)
class SimFaults:
    """Faults the simulated exchange and its clients inject.

    * ``ack_latency``: market updates an accepted order waits before the venue acknowledges it
      (it stays SUBMITTED and cannot fill meanwhile).
    * ``drop_ack_rate`` / ``drop_next_acks``: the venue accepts the order (it is recorded and
      works) but ``submit`` raises ``BrokerUnavailable``: "did my order go through?".
    * ``reject_rate`` / ``reject_next``: the venue rejects the order with ``reject_reason``.
    * ``disconnect()``: every client call raises ``BrokerUnavailable`` until ``reconnect()``.
    """

    seed: int = 0
    ack_latency: int = 0
    drop_ack_rate: float = 0.0
    reject_rate: float = 0.0
    reject_reason: str = "rejected by fault injection"
    drop_next_acks: int = 0
    reject_next: int = 0
    connected: bool = True
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("drop_ack_rate", "reject_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"SimFaults.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.ack_latency < 0:
            raise ConfigError(f"SimFaults.ack_latency must be >= 0, got {self.ack_latency}")
        self._rng = random.Random(self.seed)

    def disconnect(self) -> None:
        self.connected = False

    def reconnect(self) -> None:
        self.connected = True

    def check_connected(self) -> None:
        """Raise ``BrokerUnavailable`` while disconnected."""
        if not self.connected:
            raise BrokerUnavailable("simulated exchange disconnected")

    def take_rejection(self) -> str | None:
        """The forced rejection reason for the next order, if it is to be rejected."""
        if self.reject_next > 0:
            self.reject_next -= 1
            return self.reject_reason
        if self.reject_rate and self._rng.random() < self.reject_rate:
            return self.reject_reason
        return None

    def take_dropped_ack(self) -> bool:
        """Whether the acknowledgement of the order just accepted is lost."""
        if self.drop_next_acks > 0:
            self.drop_next_acks -= 1
            return True
        return bool(self.drop_ack_rate) and self._rng.random() < self.drop_ack_rate


class CrashAfterSubmits:
    """Fault injection: exits the process right after the venue acknowledged its ``n``-th order.

    Counted at the venue, so the restarted process (whose venue already holds ``n`` orders)
    does not crash again. The ledger still has the order PENDING: recovery must adopt it.
    """

    def __init__(self, inner: Execution, n: int, exit: Callable[[int], Any] = os._exit) -> None:
        self.inner = inner
        self.n = n
        self._count = len(inner.orders_since(datetime(1970, 1, 2, tzinfo=UTC)))
        self._exit = exit

    def submit(self, order: Order) -> Order:
        known = self.inner.get_order(order.client_order_id) is not None
        ack = self.inner.submit(order)
        if not known:
            self._count += 1
            if self._count == self.n:
                self._exit(1)
        return ack

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
