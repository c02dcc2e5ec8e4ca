"""Fault injection for tests: latency, dropped acknowledgements, forced rejections, disconnects.

Random faults draw from a ``random.Random(seed)``, so a seeded run fails the same way twice.
Faults are test hooks, not venue state: they are not persisted and start clean after a reopen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.errors import BrokerUnavailable, ConfigError


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
