"""Decimal value objects: ``Money``, ``Price`` and ``Quantity``.

Each rejects NaN and infinity at construction; ``Quantity`` also rejects negatives. Floats are
accepted only through their shortest ``repr`` (``0.1`` becomes ``Decimal("0.1")``), so that a
model score or a feature can be turned into a price without binary noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Self

from core.errors import InvalidValue

Number = Decimal | int | str | float

CENT = Decimal("0.01")


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Convert ``value`` to a finite ``Decimal`` or raise ``InvalidValue`` naming ``what``."""
    if isinstance(value, bool):
        raise InvalidValue(f"{what} must be a number, got {value!r}")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, str):
            result = Decimal(value.strip())
        elif isinstance(value, _DecimalValue):
            result = value.value
        else:
            raise InvalidValue(f"{what} must be a number, got {type(value).__name__} {value!r}")
    except InvalidOperation as exc:
        raise InvalidValue(f"{what} is not a number: {value!r}") from exc
    if not result.is_finite():
        raise InvalidValue(f"{what} must be finite, got {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class _DecimalValue:
    value: Decimal

    def __init__(self, value: Number | _DecimalValue) -> None:
        object.__setattr__(self, "value", self._check(to_decimal(value, type(self).__name__)))

    def _check(self, value: Decimal) -> Decimal:
        return value

    def __str__(self) -> str:
        return str(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def _same(self, other: object) -> Decimal:
        if type(other) is not type(self):
            raise TypeError(f"cannot combine {type(self).__name__} with {type(other).__name__}")
        assert isinstance(other, _DecimalValue)
        return other.value

    def __lt__(self, other: Self) -> bool:
        return self.value < self._same(other)

    def __le__(self, other: Self) -> bool:
        return self.value <= self._same(other)

    def __gt__(self, other: Self) -> bool:
        return self.value > self._same(other)

    def __ge__(self, other: Self) -> bool:
        return self.value >= self._same(other)


class Price(_DecimalValue):
    """A price per unit of an instrument. May be negative (a net price of a spread)."""

    def __add__(self, other: Price) -> Price:
        return Price(self.value + self._same(other))

    def __sub__(self, other: Price) -> Price:
        return Price(self.value - self._same(other))

    def __neg__(self) -> Price:
        return Price(-self.value)

    def __mul__(self, factor: Decimal | int) -> Price:
        return Price(self.value * to_decimal(factor, "factor"))

    def round_to(self, tick: Decimal | str = CENT) -> Price:
        """This price rounded (half-even) to a multiple of ``tick``."""
        step = to_decimal(tick, "tick")
        return Price((self.value / step).quantize(Decimal(1), ROUND_HALF_EVEN) * step)


class Quantity(_DecimalValue):
    """A non-negative amount of an instrument (shares, contracts or spreads)."""

    def _check(self, value: Decimal) -> Decimal:
        if value < 0:
            raise InvalidValue(f"Quantity must not be negative, got {value}")
        return value

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + self._same(other))

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - self._same(other))

    def __mul__(self, factor: Decimal | int) -> Quantity:
        return Quantity(self.value * to_decimal(factor, "factor"))

    @property
    def is_zero(self) -> bool:
        return self.value == 0


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of a currency. Arithmetic between different currencies raises ``TypeError``."""

    amount: Decimal
    currency: str = "USD"

    def __init__(self, amount: Number | Money, currency: str = "USD") -> None:
        if isinstance(amount, Money):
            currency = amount.currency
            amount = amount.amount
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            raise InvalidValue(f"currency must be a 3-letter code, got {currency!r}")
        object.__setattr__(self, "amount", to_decimal(amount, "Money"))
        object.__setattr__(self, "currency", currency.upper())

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(0, currency)

    def _other(self, other: Money) -> Decimal:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise TypeError(f"currency mismatch: {self.currency} and {other.currency}")
        return other.amount

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._other(other), self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._other(other), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * to_decimal(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Decimal | int) -> Money:
        d = to_decimal(divisor, "divisor")
        if d == 0:
            raise ZeroDivisionError("Money divided by zero")
        return Money(self.amount / d, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._other(other)

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._other(other)

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._other(other)

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._other(other)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __float__(self) -> float:
        return float(self.amount)

    def rounded(self) -> Money:
        """This amount rounded half-even to cents."""
        return Money(self.amount.quantize(CENT, ROUND_HALF_EVEN), self.currency)

    def __str__(self) -> str:
        return f"{self.amount.quantize(CENT, ROUND_HALF_EVEN):,} {self.currency}"
