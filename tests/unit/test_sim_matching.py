"""The pure fill rules of the simulated exchange."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.brokers.sim.matching import (
    BarPrices,
    LegQuote,
    OrderTerms,
    combo_crosses,
    fillable,
    match_bar,
    match_quote,
    natural_credit,
)
from core.model import OrderSide, OrderType, PriceEffect

BUY, SELL = OrderSide.BUY, OrderSide.SELL
BAR = BarPrices(open=D(100), high=D(103), low=D(98), close=D(101), volume=D(1000))


def terms(
    kind: OrderType,
    side: OrderSide,
    limit: str | None = None,
    stop: str | None = None,
    triggered: bool = False,
):
    return OrderTerms(kind, side, D(limit) if limit else None, D(stop) if stop else None, triggered)


def test_market_fills_at_the_open_as_a_market_fill() -> None:
    decision = match_bar(terms(OrderType.MARKET, BUY), BAR)
    assert (decision.price, decision.at_market) == (D(100), True)


@pytest.mark.parametrize(
    ("side", "limit", "price"),
    [
        (BUY, "99", D(99)),  # low 98 reaches 99: filled at the limit
        (BUY, "101", D(100)),  # opened below the limit: filled at the open
        (BUY, "97", None),  # low 98 never reaches 97
        (SELL, "102", D(102)),
        (SELL, "99", D(100)),  # opened above the limit: filled at the open
        (SELL, "104", None),
    ],
)
def test_limit_on_a_bar_is_conservative(side: OrderSide, limit: str, price: D | None) -> None:
    decision = match_bar(terms(OrderType.LIMIT, side, limit=limit), BAR)
    assert decision.price == price and not decision.at_market


@pytest.mark.parametrize(
    ("side", "stop", "price"),
    [
        (BUY, "102", D(102)),  # high 103 crosses 102: filled at the stop
        (BUY, "99", D(100)),  # gapped through: filled at the open
        (BUY, "104", None),
        (SELL, "99", D(99)),
        (SELL, "101", D(100)),
        (SELL, "97", None),
    ],
)
def test_stop_on_a_bar_triggers_and_fills_at_the_worse_of_open_and_stop(
    side: OrderSide, stop: str, price: D | None
) -> None:
    decision = match_bar(terms(OrderType.STOP, side, stop=stop), BAR)
    assert decision.price == price
    assert decision.triggered is (price is not None)
    assert decision.at_market is (price is not None)


def test_stop_limit_fills_in_the_trigger_bar_only_within_its_limit() -> None:
    within = match_bar(terms(OrderType.STOP_LIMIT, BUY, limit="102.5", stop="102"), BAR)
    assert (within.triggered, within.price, within.at_market) == (True, D(102), False)
    gapped = BarPrices(open=D(104), high=D(105), low=D(101), close=D(104), volume=D(10))
    beyond = match_bar(terms(OrderType.STOP_LIMIT, BUY, limit="102.5", stop="102"), gapped)
    assert (beyond.triggered, beyond.price) == (True, None)
    # triggered, it rests as a limit from the next bar on
    after = match_bar(terms(OrderType.STOP_LIMIT, BUY, limit="102.5", stop="102", triggered=True), BAR)
    assert after.price == D(100)


def test_quotes_buy_at_the_ask_and_sell_at_the_bid() -> None:
    assert match_quote(terms(OrderType.MARKET, BUY), D(10), D("10.05")).price == D("10.05")
    assert match_quote(terms(OrderType.MARKET, SELL), D(10), D("10.05")).price == D(10)
    assert match_quote(terms(OrderType.LIMIT, BUY, limit="10.04"), D(10), D("10.05")).price is None
    assert match_quote(terms(OrderType.LIMIT, BUY, limit="10.06"), D(10), D("10.05")).price == D("10.05")
    assert match_quote(terms(OrderType.LIMIT, SELL, limit="10.01"), D(10), D("10.05")).price is None


def test_quote_stops_trigger_on_the_touch() -> None:
    assert match_quote(terms(OrderType.STOP, BUY, stop="10.10"), D(10), D("10.05")).triggered is False
    hit = match_quote(terms(OrderType.STOP, BUY, stop="10.10"), D("10.08"), D("10.12"))
    assert (hit.triggered, hit.price, hit.at_market) == (True, D("10.12"), True)
    sell = match_quote(terms(OrderType.STOP_LIMIT, SELL, stop="9.95", limit="9.90"), D("9.85"), D("9.90"))
    assert (sell.triggered, sell.price) == (True, None)  # triggered, but the bid is below the limit


def test_natural_price_of_a_credit_spread_and_its_limit() -> None:
    legs = [LegQuote(SELL, 1, D("2.00"), D("2.10")), LegQuote(BUY, 1, D("0.90"), D("1.00"))]
    credit = natural_credit(legs)
    assert credit == D("1.00")
    assert combo_crosses(PriceEffect.CREDIT, D("1.00"), credit)
    assert not combo_crosses(PriceEffect.CREDIT, D("1.05"), credit)
    debit = natural_credit([LegQuote(BUY, 1, D("2.00"), D("2.10")), LegQuote(SELL, 1, D("0.90"), D("1.00"))])
    assert debit == D("-1.20")
    assert combo_crosses(PriceEffect.DEBIT, D("1.20"), debit)
    assert not combo_crosses(PriceEffect.DEBIT, D("1.19"), debit)


@pytest.mark.parametrize(
    ("leaves", "capacity", "fills"),
    [("10", None, "10"), ("10", "25", "10"), ("10", "3.7", "3"), ("10", "0.5", "0"), ("0.5", "0.7", "0.5")],
)
def test_fillable_rounds_partial_capacity_down_to_whole_units(
    leaves: str, capacity: str | None, fills: str
) -> None:
    assert fillable(D(leaves), D(capacity) if capacity else None) == D(fills)
