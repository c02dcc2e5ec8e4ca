from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidValue
from core.model import Money, Price, Quantity

amounts = st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=4)


@given(amounts, amounts)
def test_money_addition_commutes(a: Decimal, b: Decimal) -> None:
    assert Money(a) + Money(b) == Money(b) + Money(a)


@given(amounts, amounts, amounts)
def test_money_addition_associates(a: Decimal, b: Decimal, c: Decimal) -> None:
    assert (Money(a) + Money(b)) + Money(c) == Money(a) + (Money(b) + Money(c))


@given(amounts, amounts)
def test_money_subtraction_inverts_addition(a: Decimal, b: Decimal) -> None:
    assert Money(a) + Money(b) - Money(b) == Money(a)


@given(amounts, st.integers(min_value=-1000, max_value=1000))
def test_money_multiplication_is_repeated_addition(a: Decimal, k: int) -> None:
    total = Money.zero()
    for _ in range(abs(k)):
        total = total + Money(a)
    assert Money(a) * k == (total if k >= 0 else -total)


@given(amounts, amounts)
def test_money_order_matches_decimal(a: Decimal, b: Decimal) -> None:
    assert (Money(a) < Money(b)) == (a < b)
    assert (Money(a) >= Money(b)) == (a >= b)


def test_money_refuses_mixed_currencies() -> None:
    with pytest.raises(TypeError, match="currency mismatch"):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(TypeError):
        _ = Money(1, "USD") < Money(2, "EUR")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "abc", True])
@pytest.mark.parametrize("cls", [Money, Price, Quantity])
def test_value_objects_reject_non_finite(cls: type, bad: object) -> None:
    with pytest.raises(InvalidValue):
        cls(bad)


def test_quantity_rejects_negatives_and_subtraction_below_zero() -> None:
    with pytest.raises(InvalidValue, match="negative"):
        Quantity(-1)
    with pytest.raises(InvalidValue):
        Quantity(1) - Quantity(2)


def test_float_input_uses_shortest_repr() -> None:
    assert Price(0.1).value == Decimal("0.1")
    assert Money(4.06).amount == Decimal("4.06")


def test_price_rounding_and_type_safety() -> None:
    assert Price("4.105").round_to("0.01") == Price("4.10")
    assert Price("4.115").round_to("0.05") == Price("4.10")
    with pytest.raises(TypeError):
        Price(1) + Quantity(1)  # type: ignore[operator]


def test_money_str_and_rounding() -> None:
    assert str(Money("1234.5")) == "1,234.50 USD"
    assert Money("0.125").rounded() == Money("0.12")
    with pytest.raises(InvalidValue):
        Money(1, "dollars")
