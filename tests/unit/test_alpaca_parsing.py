"""The Alpaca adapter's pure conversions, checked against the simulator's payload builders and
alpaca-py's own models and decoders (no network)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import msgpack
import pytest
from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Quote as AlpacaQuote
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)

from adapters.brokers.alpaca.parsing import (
    alpaca_client_id,
    error_code,
    fill_from_activity,
    fill_from_update,
    generation_of,
    is_duplicate_client_id,
    order_from_wire,
    order_request,
    our_client_id,
    parse_time,
    quote_from_wire,
)
from adapters.brokers.alpaca.stream import backoff
from core.errors import OrderRejected
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    TimeInForce,
)
from simulators.alpaca.payloads import fill_activity, order_json, pack, quote_stream, trade_update, uid

ACCOUNT = AccountId("acct")
T0 = datetime(2025, 6, 2, 14, 0, 1, 123456, tzinfo=UTC)
CID = ClientOrderId("rd-0123456789abcdef01234567")


def limit_order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    order = Order.single(CID, ACCOUNT, Equity("SPY"), OrderSide.BUY, 10, T0, OrderType.LIMIT, Price("100.25"))
    if status is not OrderStatus.PENDING:
        order = order.submitted(T0).transition(OrderStatus.ACCEPTED, T0)
    return order


def test_an_order_survives_the_wire_both_ways_and_parses_as_alpaca_py_model() -> None:
    working = limit_order(OrderStatus.ACCEPTED).with_fill(Quantity(4), Price("100.20"), T0)
    raw = order_json(working, uid("o"), str(CID))
    assert AlpacaOrder(**raw).client_order_id == str(CID)  # the SDK's own model accepts it
    back = order_from_wire(raw, ACCOUNT)
    assert back.client_order_id == CID and back.status is OrderStatus.PARTIALLY_FILLED
    assert (back.quantity, back.filled_quantity, back.avg_fill_price) == (
        Quantity(10),
        Quantity(4),
        Price("100.20"),
    )
    assert (back.order_type, back.limit_price, back.time_in_force) == (
        OrderType.LIMIT,
        Price("100.25"),
        TimeInForce.DAY,
    )
    assert back.created_at == T0


@pytest.mark.parametrize(
    ("wire", "ours"),
    [
        ("pending_new", OrderStatus.SUBMITTED),
        ("accepted", OrderStatus.SUBMITTED),
        ("new", OrderStatus.ACCEPTED),
        ("pending_cancel", OrderStatus.ACCEPTED),
        ("partially_filled", OrderStatus.PARTIALLY_FILLED),
        ("filled", OrderStatus.FILLED),
        ("canceled", OrderStatus.CANCELLED),
        ("expired", OrderStatus.EXPIRED),
        ("rejected", OrderStatus.REJECTED),
    ],
)
def test_alpaca_statuses_map_to_ours(wire: str, ours: OrderStatus) -> None:
    raw = order_json(limit_order(OrderStatus.ACCEPTED), uid("o"), str(CID)) | {"status": wire}
    assert order_from_wire(raw, ACCOUNT).status is ours


def test_a_replacement_keeps_our_client_order_id() -> None:
    second = alpaca_client_id(CID, 2)
    assert second == f"{CID}~r2" and alpaca_client_id(CID) == str(CID)
    assert our_client_id(second) == CID and generation_of(second) == 2 and generation_of(str(CID)) == 0


def test_a_fill_has_one_id_on_the_stream_and_in_the_activities() -> None:
    order = limit_order(OrderStatus.ACCEPTED).with_fill(Quantity(10), Price("100.20"), T0)
    fill = Fill(
        FillId("SIM-F00000001"), CID, ACCOUNT, Equity("SPY"), OrderSide.BUY, Quantity(10), Price("100.20"), T0
    )
    raw_order = order_json(order, uid("o"), str(CID))
    update = trade_update("fill", raw_order, T0, fill, Decimal(10))
    TradeUpdate(**update["data"])  # the SDK's model takes the simulator's update
    streamed = fill_from_update(update["data"], ACCOUNT)
    reported = fill_from_activity(
        fill_activity(fill, uid("a"), uid("o"), Decimal(10), Decimal(0), "filled"), ACCOUNT, CID
    )
    assert streamed == reported
    assert streamed is not None and (streamed.quantity, streamed.price, streamed.ts) == (
        Quantity(10),
        Price("100.20"),
        T0,
    )
    assert fill_from_update(trade_update("new", raw_order, T0)["data"], ACCOUNT) is None


def test_requests_by_order_type_and_what_alpaca_takes_no_orders_of() -> None:
    base = limit_order()
    assert isinstance(order_request(base), LimitOrderRequest)
    assert order_request(base).client_order_id == str(CID)
    market = Order.single(CID, ACCOUNT, Equity("SPY"), OrderSide.SELL, "0.5", T0)
    assert isinstance(order_request(market), MarketOrderRequest) and order_request(market).qty == 0.5
    stop = Order.single(
        CID, ACCOUNT, Equity("SPY"), OrderSide.SELL, 1, T0, OrderType.STOP, stop_price=Price("99")
    )
    assert isinstance(order_request(stop), StopOrderRequest)
    both = Order.single(
        CID, ACCOUNT, Equity("SPY"), OrderSide.SELL, 1, T0, OrderType.STOP_LIMIT, Price("98"), Price("99")
    )
    assert isinstance(order_request(both), StopLimitOrderRequest)
    puts = (
        OptionContract("SPY", T0.date(), "P", Decimal(95)),
        OptionContract("SPY", T0.date(), "P", Decimal(90)),
    )
    spread = Order.combo(
        CID,
        ACCOUNT,
        (OrderLeg(puts[0], OrderSide.SELL), OrderLeg(puts[1], OrderSide.BUY)),
        1,
        Price("1"),
        PriceEffect.CREDIT,
        T0,
    )
    with pytest.raises(OrderRejected, match="equity orders only"):
        order_request(spread)


def test_timestamps_with_nanoseconds_and_offsets() -> None:
    assert parse_time("2025-06-02T14:00:01.123456789Z") == T0
    assert parse_time("2025-06-02T10:00:01.1234-04:00") == T0.replace(microsecond=123400)
    assert parse_time("2025-06-02T14:00:01Z") == T0.replace(microsecond=0)


def test_errors_and_the_duplicate_client_order_id_answer() -> None:
    assert error_code('{"code":40010001,"message":"client_order_id must be unique"}') == (
        40010001,
        "client_order_id must be unique",
    )
    assert error_code("Bad Gateway") == (None, "Bad Gateway")
    assert is_duplicate_client_id(422, "client_order_id must be unique")
    assert not is_duplicate_client_id(403, "insufficient buying power")


def test_a_data_frame_carries_msgpack_timestamps_the_sdk_decodes() -> None:
    quote = Quote(Equity("SPY").id, Price("500.10"), Price("500.20"), T0, 300.0, 200.0)
    (raw,) = msgpack.unpackb(pack([quote_stream("SPY", quote)]))
    assert isinstance(raw["t"], msgpack.Timestamp)
    assert quote_from_wire("SPY", raw) == quote
    stream = StockDataStream("key", "secret")
    parsed = stream._cast(dict(raw))
    assert isinstance(parsed, AlpacaQuote) and parsed.timestamp == T0 and parsed.bid_price == 500.10


def test_back_off_doubles_to_its_cap_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(1)
    waits = [backoff(n, 0.5, 8.0, rng) for n in range(1, 9)]
    caps = [0.5, 1, 2, 4, 8, 8, 8, 8]
    assert all(cap / 2 <= w <= cap for w, cap in zip(waits, caps, strict=True))
    assert waits == [backoff(n, 0.5, 8.0, r) for r in [random.Random(1)] for n in range(1, 9)]
