"""Entry limits: the seed's worked examples, bounds on every side, spread pricing diagnostics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import InvalidValue
from core.execution.pricing import (
    entry_limit,
    entry_limit_buy,
    entry_limit_credit,
    entry_limit_debit,
    entry_limit_sell,
    price_spread,
)
from core.model import (
    AccountId,
    Equity,
    OptionContract,
    OrderLeg,
    OrderSide,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    StrategyId,
    Suggestion,
)

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
EXP = date(2025, 12, 19)
SHORT_PUT = OptionContract("QQQ", EXP, "P", 622)
LONG_PUT = OptionContract("QQQ", EXP, "P", 619)


def q(instrument: OptionContract | Equity, bid: str, ask: str) -> Quote:
    return Quote(instrument.id, Price(bid), Price(ask), T0)


def test_seed_example_offset_from_mid_credit() -> None:
    # mid credit 4.10, offset 4 cents, natural 3.86 -> 4.06
    assert entry_limit_credit(Price("4.10"), Price("3.86"), 4) == Price("4.06")


def test_seed_example_offset_larger_than_the_spread_is_floored_at_natural() -> None:
    # a 50-cent offset where the quotes are only 40 cents wide: mid - offset would sell below
    # the natural credit, so the limit is the natural credit
    assert entry_limit_credit(Price("4.10"), Price("3.90"), 50) == Price("3.90")
    assert entry_limit_credit(Price("4.10"), Price("3.70"), 50) == Price("3.70")


def test_debit_is_capped_at_natural() -> None:
    assert entry_limit_debit(Price("2.00"), Price("2.20"), 4) == Price("2.04")
    assert entry_limit_debit(Price("2.00"), Price("2.20"), 50) == Price("2.20")


def test_single_leg_buy_capped_at_ask_and_sell_floored_at_bid() -> None:
    assert entry_limit_buy(Price("100.00"), Price("100.10"), 4) == Price("100.04")
    assert entry_limit_buy(Price("100.00"), Price("100.02"), 4) == Price("100.02")
    assert entry_limit_sell(Price("100.00"), Price("99.90"), 4) == Price("99.96")
    assert entry_limit_sell(Price("100.00"), Price("99.98"), 4) == Price("99.98")


def test_zero_offset_is_mid_and_negative_offset_refused() -> None:
    assert entry_limit_credit(Price("4.10"), Price("3.86"), 0) == Price("4.10")
    with pytest.raises(InvalidValue):
        entry_limit_credit(Price("4.10"), Price("3.86"), -1)


def test_half_cent_mid_rounds_to_the_cent() -> None:
    assert entry_limit_credit(Price("4.105"), Price("3.86"), 4) == Price("4.06")


def test_spread_pricing_natural_and_mid_credit_with_diagnostics() -> None:
    quotes = {SHORT_PUT.id: q(SHORT_PUT, "5.00", "5.20"), LONG_PUT.id: q(LONG_PUT, "1.00", "1.14")}
    legs = (OrderLeg(SHORT_PUT, OrderSide.SELL), OrderLeg(LONG_PUT, OrderSide.BUY))
    p = price_spread(legs, quotes)
    assert p.valid and p.price_effect is PriceEffect.CREDIT
    assert p.natural == Price("3.86")  # 5.00 bid of short - 1.14 ask of long
    assert p.mid == Price("4.03")  # 5.10 - 1.07
    assert any("short QQQ251219P00622000" in line and "bid=5.00" in line for line in p.diagnostics)


def test_spread_pricing_reports_inverted_credit_and_missing_quotes() -> None:
    legs = (OrderLeg(SHORT_PUT, OrderSide.SELL), OrderLeg(LONG_PUT, OrderSide.BUY))
    inverted = {SHORT_PUT.id: q(SHORT_PUT, "1.00", "2.60"), LONG_PUT.id: q(LONG_PUT, "1.10", "1.20")}
    p = price_spread(legs, inverted)
    assert not p.valid and "natural credit -0.20 is not positive" in p.problems[0]
    missing = price_spread(legs, {SHORT_PUT.id: inverted[SHORT_PUT.id]})
    assert missing.problems == (f"no quote for {LONG_PUT.id}",)


def test_debit_spread_pricing() -> None:
    legs = (OrderLeg(SHORT_PUT, OrderSide.BUY), OrderLeg(LONG_PUT, OrderSide.SELL))
    quotes = {SHORT_PUT.id: q(SHORT_PUT, "5.00", "5.20"), LONG_PUT.id: q(LONG_PUT, "1.00", "1.14")}
    p = price_spread(legs, quotes)
    assert p.valid and p.price_effect is PriceEffect.DEBIT
    assert (p.natural, p.mid) == (Price("4.20"), Price("4.03"))


def suggestion(legs: tuple[OrderLeg, ...], **kw: object) -> Suggestion:
    return Suggestion(
        AccountId("a"),
        StrategyId("s"),
        date(2025, 11, 3),
        "sig",
        legs,
        Quantity(1),
        T0,
        **kw,  # type: ignore[arg-type]
    )


def test_entry_limit_of_a_suggestion() -> None:
    legs = (OrderLeg(SHORT_PUT, OrderSide.SELL), OrderLeg(LONG_PUT, OrderSide.BUY))
    s = suggestion(legs, mid=Price("4.10"), natural=Price("3.86"), price_effect=PriceEffect.CREDIT)
    assert entry_limit(s, 4, {}) == Price("4.06")
    # Without prices on the suggestion, the legs' quotes price it.
    quotes = {SHORT_PUT.id: q(SHORT_PUT, "5.00", "5.20"), LONG_PUT.id: q(LONG_PUT, "1.00", "1.14")}
    bare = suggestion(legs, price_effect=PriceEffect.CREDIT)
    assert entry_limit(bare, 4, quotes) == Price("3.99")
    with pytest.raises(InvalidValue, match="cannot price"):
        entry_limit(bare, 4, {})


def test_entry_limit_of_an_equity_from_its_quote() -> None:
    aapl = Equity("AAPL")
    quotes = {aapl.id: q(aapl, "189.90", "190.10")}
    assert entry_limit(suggestion((OrderLeg(aapl, OrderSide.BUY),)), 4, quotes) == Price("190.04")
    assert entry_limit(suggestion((OrderLeg(aapl, OrderSide.SELL),)), 40, quotes) == Price("189.90")
    with pytest.raises(InvalidValue, match="no mid"):
        entry_limit(suggestion((OrderLeg(aapl, OrderSide.BUY),)), 4, {})
