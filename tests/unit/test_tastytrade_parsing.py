"""Pure conversions of the Tastytrade adapter, checked against the SDK's own models."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from tastytrade.instruments import Option
from tastytrade.order import InstrumentType, OrderAction, PlacedOrder
from tastytrade.order import OrderStatus as TtStatus

from adapters.brokers.tastytrade.parsing import (
    STATUSES,
    action,
    build_order,
    instrument_of,
    side_of,
    streamer_symbol,
    tt_symbol,
)
from core.errors import InvalidSymbol
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    PriceEffect,
)
from simulators.tastytrade import payloads

AT = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
ACCOUNT = AccountId("acct")


@pytest.mark.parametrize(
    ("occ", "streamer"),
    [
        ("QQQ   251219P00622000", ".QQQ251219P622"),
        ("SPY   250117C00500000", ".SPY250117C500"),
        ("XYZ   250117C00012250", ".XYZ250117C12.25"),  # the SDK's streamer_symbol_to_occ gets these wrong
        ("XYZ   250117C00012050", ".XYZ250117C12.05"),
        ("SPXW  251219P05900000", ".SPXW251219P5900"),
    ],
)
def test_occ_and_streamer_symbols_convert_both_ways(occ: str, streamer: str) -> None:
    contract = instrument_of(occ, InstrumentType.EQUITY_OPTION)
    assert isinstance(contract, OptionContract)
    assert streamer_symbol(contract) == streamer and tt_symbol(contract) == occ
    assert instrument_of(streamer, InstrumentType.EQUITY) == contract
    assert Option.occ_to_streamer_symbol(occ) == streamer  # the SDK agrees where it is right


def test_other_symbols() -> None:
    assert instrument_of("QQQ", InstrumentType.EQUITY) == Equity("QQQ") == instrument_of("QQQ", "Index")
    assert instrument_of("/ESZ5", InstrumentType.FUTURE) is None
    with pytest.raises(InvalidSymbol):
        instrument_of("QQQ   2512X9P00622000", InstrumentType.EQUITY_OPTION)


def test_actions_open_or_close_against_what_is_held() -> None:
    assert action(OrderSide.SELL, Decimal(0)) is OrderAction.SELL_TO_OPEN
    assert action(OrderSide.SELL, Decimal(5)) is OrderAction.SELL_TO_CLOSE
    assert action(OrderSide.BUY, Decimal(-2)) is OrderAction.BUY_TO_CLOSE
    assert action(OrderSide.BUY, Decimal(3)) is OrderAction.BUY_TO_OPEN
    assert {side_of(a) for a in (OrderAction.BUY_TO_OPEN, OrderAction.BUY_TO_CLOSE)} == {OrderSide.BUY}


def _trident() -> Order:
    legs = [OptionContract.from_occ(s) for s in ("QQQ   251219P00622000", "QQQ   251219P00619000")]
    calls = [OptionContract.from_occ(s) for s in ("QQQ   251219C00622000", "QQQ   251219C00625000")]
    return Order.combo(
        ClientOrderId("rd-abc"),
        ACCOUNT,
        (
            OrderLeg(legs[0], OrderSide.SELL, 2),
            OrderLeg(legs[1], OrderSide.BUY, 2),
            OrderLeg(calls[0], OrderSide.SELL),
            OrderLeg(calls[1], OrderSide.BUY),
        ),
        3,
        Price("4.06"),
        PriceEffect.CREDIT,
        AT,
    )


def test_a_credit_combination_is_one_order_signed_as_the_sdk_sends_it() -> None:
    wire = json.loads(build_order(_trident(), {}, "rd-abc").model_dump_json(exclude_none=True, by_alias=True))
    assert (wire["order-type"], wire["price"], wire["price-effect"]) == ("Limit", "4.06", "Credit")
    assert wire["external-identifier"] == "rd-abc" and wire["time-in-force"] == "Day"
    assert [(leg["symbol"], leg["action"], leg["quantity"]) for leg in wire["legs"]] == [
        ("QQQ   251219P00622000", "Sell to Open", "6"),
        ("QQQ   251219P00619000", "Buy to Open", "6"),
        ("QQQ   251219C00622000", "Sell to Open", "3"),
        ("QQQ   251219C00625000", "Buy to Open", "3"),
    ]


def test_single_orders_buy_at_a_debit_and_stops_carry_their_trigger() -> None:
    buy = Order.single(
        ClientOrderId("b"), ACCOUNT, Equity("SPY"), OrderSide.BUY, 5, AT, OrderType.LIMIT, Price("100")
    )
    wire = json.loads(build_order(buy, {}, "b").model_dump_json(exclude_none=True, by_alias=True))
    assert (wire["price"], wire["price-effect"], wire["legs"][0]["action"]) == ("100", "Debit", "Buy to Open")
    stop = Order.single(
        ClientOrderId("s"),
        ACCOUNT,
        Equity("SPY"),
        OrderSide.SELL,
        5,
        AT,
        OrderType.STOP,
        stop_price=Price("95"),
    )
    wire = json.loads(
        build_order(stop, {Equity("SPY"): Decimal(5)}, "s").model_dump_json(exclude_none=True, by_alias=True)
    )
    assert (wire["order-type"], wire["stop-trigger"], wire["legs"][0]["action"]) == (
        "Stop",
        "95",
        "Sell to Close",
    )


def test_every_status_of_the_sdk_is_mapped() -> None:
    assert set(STATUSES) == set(TtStatus)
    assert STATUSES[TtStatus.LIVE] is OrderStatus.ACCEPTED and STATUSES[TtStatus.REPLACE_REQUESTED] is None


def test_the_fakes_order_json_is_what_the_sdk_parses() -> None:
    order = _trident().submitted(AT).transition(OrderStatus.ACCEPTED, AT)
    placed = PlacedOrder(**payloads.order("5WT00001", 7, order, [], "rd-abc"))
    assert placed.id == 7 and placed.status is TtStatus.LIVE and placed.external_identifier == "rd-abc"
    assert placed.price == Decimal("4.06") and placed.size == Decimal(3)  # positive: a credit
    assert [leg.quantity for leg in placed.legs] == [6, 6, 3, 3]
    nested = payloads.nested_chain("QQQ", [], date(2025, 11, 3))
    assert nested == {"items": []}
