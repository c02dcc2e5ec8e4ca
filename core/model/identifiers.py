"""Typed identifiers: a string that knows what it names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

from core.errors import InvalidValue


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """A non-empty identifier with no whitespace. Subclasses say what it identifies."""

    value: str
    max_length: ClassVar[int] = 128

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise InvalidValue(f"{type(self).__name__} must be a non-empty string, got {self.value!r}")
        if any(ch.isspace() for ch in self.value):
            raise InvalidValue(f"{type(self).__name__} must not contain whitespace: {self.value!r}")
        if len(self.value) > self.max_length:
            raise InvalidValue(
                f"{type(self).__name__} longer than {self.max_length} characters: {self.value!r}"
            )

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: str | Self) -> Self:
        """Return ``value`` as this identifier type (idempotent)."""
        return value if isinstance(value, cls) else cls(str(value))


class AccountId(Identifier):
    """A brokerage account as configured in raydesk (not the broker's number)."""


class InstrumentId(Identifier):
    """An instrument: the ticker for equities, the unpadded OCC symbol for options."""


class StrategyId(Identifier):
    """A strategy name such as ``intraday_mean_reversion``."""


class BrokerOrderId(Identifier):
    """The identifier a broker assigned to an order."""


class FillId(Identifier):
    """A fill (execution) identifier, unique per broker."""


class ClientOrderId(Identifier):
    """Our identifier of an order, sent to the broker.

    Derived deterministically from (account, strategy, session, signal) so that a resubmission
    after a crash finds the original order instead of creating a second one.
    """

    max_length: ClassVar[int] = 48

    @classmethod
    def derive(
        cls, account: AccountId, strategy: StrategyId | str, session: date, signal: str
    ) -> ClientOrderId:
        """The id of the order for ``signal`` of ``strategy`` in ``account`` on ``session``."""
        key = f"{account}|{strategy}|{session.isoformat()}|{signal}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return ClientOrderId(f"rd-{digest}")
