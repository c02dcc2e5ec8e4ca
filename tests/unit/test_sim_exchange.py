"""The simulated exchange end to end: the bar convention, participation, rejections, DAY orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import polars as pl
import pytest

from adapters.brokers.sim import (
    BpsSlippage,
    FillOn,
    SimExchange,
    SimExchangeConfig,
    SimExecutionClient,
    SimMarketData,
)
from core.clock import SimClock
from core.errors import OrderRejected
from core.messages import OrderFilled
from core.model import (
    AccountId,
    Bar,
    ClientOrderId,
    Equity,
    InstrumentId,
    Money,
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
from core.ports import MarketData

T0 = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
ACCT = AccountId("acct")
SPY = Equity("SPY")
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def make(config: SimExchangeConfig | None = None, cash: int = 100_000, margin: bool = False, **kw):
    clock = SimClock(T0)
    ex = SimExchange(config or SimExchangeConfig(), clock, **kw)
    ex.open_account(ACCT, Money(cash), margin=margin)
    return ex, clock, SimExecutionClient(ex, ACCT)


def bar(o: float, h: float, low: float, c: float, v: float = 1_000_000) -> Bar:
    return Bar("SPY", T0, o, h, low, c, v)


def order(name: str, side: OrderSide, qty: int | str, kind: OrderType = OrderType.MARKET, **kw) -> Order:
    return Order.single(ClientOrderId(name), ACCT, SPY, side, qty, T0, order_type=kind, **kw)


def test_market_order_fills_at_the_next_bar_open_plus_slippage() -> None:
    ex, _, client = make(SimExchangeConfig(slippage=BpsSlippage(D(10))))
    ex.on_bar("SPY", bar(100, 101, 99, 100.5))
    client.submit(order("m1", BUY, 10))
    ex.on_bar("SPY", {"open": 101.0, "high": 102.0, "low": 100.0, "close": 101.5, "volume": 1e6})
    (fill,) = client.fills_since(T0)
    assert fill.price == Price("101.101")  # 101 × (1 + 10 bps)
    assert ex.positions(ACCT)[0].net == 10


def test_participation_caps_fills_per_bar() -> None:
    ex, _, client = make()
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    client.submit(order("big", BUY, 250))
    for _ in range(3):
        ex.on_bar("SPY", bar(100, 100, 100, 100, v=1000))  # 10% of 1000 = 100 per bar
    assert [f.quantity for f in client.fills_since(T0)] == [Quantity(100), Quantity(100), Quantity(50)]
    assert client.get_order(ClientOrderId("big")).status is OrderStatus.FILLED


def test_orders_on_one_bar_share_its_volume_in_arrival_order() -> None:
    ex, _, client = make()
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    client.submit(order("first", BUY, 80))
    client.submit(order("second", BUY, 80))
    ex.on_bar("SPY", bar(100, 100, 100, 100, v=1000))
    assert [(str(f.client_order_id), f.quantity) for f in client.fills_since(T0)] == [
        ("first", Quantity(80)),
        ("second", Quantity(20)),
    ]


def test_cash_account_cannot_spend_more_than_its_cash() -> None:
    ex, _, client = make(cash=10_000)
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    ok = client.submit(order("ok", BUY, 60, OrderType.LIMIT, limit_price=Price(100)))
    assert ok.status is OrderStatus.ACCEPTED
    # 6,000 is held by the open order: 50 more shares need 5,000 of the 4,000 left
    refused = client.submit(order("no", BUY, 50, OrderType.LIMIT, limit_price=Price(100)))
    assert refused.status is OrderStatus.REJECTED
    assert "insufficient buying power" in refused.reason
    assert client.balance().buying_power == Money(4_000)


def test_margin_account_buys_on_the_multiplier_and_may_short() -> None:
    ex, _, client = make(cash=10_000, margin=True)
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    assert client.balance().buying_power == Money(20_000)
    assert client.submit(order("lev", BUY, 150)).status is OrderStatus.ACCEPTED
    cash_ex, _, cash_client = make(cash=10_000)
    cash_ex.on_bar("SPY", bar(100, 100, 100, 100))
    short = cash_client.submit(order("short", SELL, 1))
    assert short.status is OrderStatus.REJECTED and "margin" in short.reason


def test_market_closed_and_unknown_instruments_and_fractional_contracts_are_rejected() -> None:
    _, _, client = make(is_open=lambda ts: ts.hour < 12)
    closed = client.submit(order("late", BUY, 1))
    assert (closed.status, closed.reason) == (OrderStatus.REJECTED, "market closed")
    ex2, _, client2 = make()
    unknown = client2.submit(order("who", BUY, 1))
    assert unknown.reason == "unknown instrument SPY"
    put = OptionContract("SPY", date(2025, 6, 20), "P", 95)
    ex2.list_instrument(put)
    ex2.on_quote(Quote(put.id, Price(1), Price("1.1"), T0))
    frac = Order.single(ClientOrderId("frac"), ACCT, put, BUY, "1.5", T0, OrderType.LIMIT, Price(1))
    assert client2.submit(frac).reason == "option orders trade whole contracts"


def test_rejection_is_recorded_with_its_event() -> None:
    _, _, client = make()
    client.submit(order("who", BUY, 1))
    (event,) = client.poll_events()
    assert event.order.status is OrderStatus.REJECTED
    assert [o.status for o in client.orders_since(T0)] == [OrderStatus.REJECTED]


def put_spread(ex: SimExchange) -> tuple[OptionContract, OptionContract, tuple[OrderLeg, OrderLeg]]:
    """A 95/90 put credit spread, both legs quoted (short bid 2.00, long ask 1.00)."""
    short_put = OptionContract("SPY", date(2025, 6, 20), "P", 95)
    long_put = OptionContract("SPY", date(2025, 6, 20), "P", 90)
    ex.on_quote(Quote(short_put.id, Price("2.00"), Price("2.10"), T0))
    ex.on_quote(Quote(long_put.id, Price("0.90"), Price("1.00"), T0))
    return short_put, long_put, (OrderLeg(short_put, SELL), OrderLeg(long_put, BUY))


def test_credit_spread_holds_its_max_loss_as_buying_power() -> None:
    ex, _, client = make(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE), cash=1_000)
    short_put, long_put, legs = put_spread(ex)
    # max loss per spread: (5 - 1) × 100 = 400
    three = Order.combo(ClientOrderId("s3"), ACCT, legs, 3, Price(1), PriceEffect.CREDIT, T0)
    assert client.submit(three).status is OrderStatus.REJECTED
    two = Order.combo(ClientOrderId("s2"), ACCT, legs, 2, Price(1), PriceEffect.CREDIT, T0)
    assert client.submit(two).status is OrderStatus.ACCEPTED
    assert client.balance().buying_power == Money(200)
    ex.on_quote(Quote(long_put.id, Price("0.90"), Price("1.00"), T0))
    fills = client.fills_since(T0)
    assert [(f.instrument, f.side, f.quantity) for f in fills] == [
        (short_put, SELL, Quantity(2)),
        (long_put, BUY, Quantity(2)),
    ]
    # credit 200 in, 2.60 commission out, 1,000 of width held
    balance = client.balance()
    assert balance.cash == Money("1197.40")
    assert balance.buying_power == Money("197.40")


@pytest.mark.parametrize("batched", [True, False])
def test_a_combination_is_matched_on_all_of_an_event_s_quotes(batched: bool) -> None:
    ex, _, client = make(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE))
    short_put, long_put, legs = put_spread(ex)
    spread = Order.combo(ClientOrderId("sp"), ACCT, legs, 1, Price(1), PriceEffect.CREDIT, T0)
    assert client.submit(spread).status is OrderStatus.ACCEPTED
    # The next event: the long leg unchanged, the short one now bid 1.50 (credit 0.50 < 1.00).
    event = [
        Quote(long_put.id, Price("0.90"), Price("1.00"), T0),
        Quote(short_put.id, Price("1.50"), Price("1.60"), T0),
    ]
    if batched:
        ex.on_quotes(event)
        assert client.fills_since(T0) == []  # priced on both new quotes: no fill
    else:
        for quote in event:  # one by one, the first quote meets the short leg's old bid
            ex.on_quote(quote)
        assert [f.price for f in client.fills_since(T0)] == [Price("2.00"), Price("1.00")]


def test_day_orders_expire_at_the_injected_session_close() -> None:
    close = T0.replace(hour=20)
    ex, clock, client = make(session_close=lambda ts: close)
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    client.submit(order("day", BUY, 1, OrderType.LIMIT, limit_price=Price(90)))
    client.submit(order("gtc", BUY, 1, OrderType.LIMIT, limit_price=Price(90), time_in_force=TimeInForce.GTC))
    clock.set(close)
    ex.on_bar("SPY", bar(89, 89, 89, 89))  # the close has passed: the DAY order expires first
    assert client.get_order(ClientOrderId("day")).status is OrderStatus.EXPIRED
    assert [str(f.client_order_id) for f in client.fills_since(T0)] == ["gtc"]


def test_same_inputs_give_the_same_orders_fills_and_ids() -> None:
    def run() -> list[tuple[str, str, str, str]]:
        ex, clock, client = make(SimExchangeConfig(slippage=BpsSlippage(D(3))))
        for i in range(30):
            clock.advance(timedelta(minutes=1))
            px = 100 + (i % 7) - 3
            ex.on_bar("SPY", bar(px, px + 1, px - 1, px, v=500))
            if i % 3 == 0:
                side = BUY if i % 2 == 0 else SELL
                client.submit(order(f"o{i}", side, 30, OrderType.LIMIT, limit_price=Price(px)))
        return [
            (str(f.fill_id), str(f.broker_order_id), str(f.price), str(f.quantity))
            for f in client.fills_since(T0)
        ]

    first = run()
    assert first and first == run()


def test_market_data_port_over_frames_and_the_exchange() -> None:
    ex, _, _ = make()
    frame = pl.DataFrame(
        {
            "symbol": ["SPY", "SPY", "QQQ"],
            "ts": [T0, T0 + timedelta(minutes=1), T0],
            "open": [1.0, 2.0, 3.0],
            "high": [1.0, 2.0, 3.0],
            "low": [1.0, 2.0, 3.0],
            "close": [1.0, 2.0, 3.0],
            "volume": [1.0, 2.0, 3.0],
        }
    )
    data = SimMarketData(frame, ex)
    assert isinstance(data, MarketData)
    assert data.history(["SPY"], "1m", T0, T0 + timedelta(minutes=1))["open"].to_list() == [1.0]
    quote = Quote(InstrumentId("SPY"), Price(1), Price(2), T0)
    ex.on_quote(quote)
    assert data.latest_quote(InstrumentId("SPY")) == quote
    assert data.latest_quote(InstrumentId("QQQ")) is None


def test_fill_events_carry_the_order_ids() -> None:
    ex, _, client = make()
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    placed = client.submit(order("ids", BUY, 1))
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    fills = [e.fill for e in client.poll_events() if isinstance(e, OrderFilled)]
    assert [(f.client_order_id, f.broker_order_id) for f in fills] == [
        (placed.client_order_id, placed.broker_order_id)
    ]


def test_replace_to_zero_quantity_raises_order_rejected() -> None:
    ex, _, client = make()
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    client.submit(order("r", BUY, 5, OrderType.LIMIT, limit_price=Price(90)))
    with pytest.raises(OrderRejected, match="positive"):
        client.replace(ClientOrderId("r"), quantity=Quantity(0))


def test_stop_triggers_on_a_bar_and_its_remainder_fills_at_the_next_open() -> None:
    ex, _, client = make(margin=True)
    ex.on_bar("SPY", bar(100, 100, 100, 100))
    client.submit(order("stop", SELL, 150, OrderType.STOP, stop_price=Price(98)))
    ex.on_bar("SPY", bar(100, 101, 99, 100, v=1000))  # low 99 > stop: nothing
    assert client.fills_since(T0) == []
    ex.on_bar("SPY", bar(99, 99, 97, 97.5, v=1000))  # triggers: 100 at min(open, stop) = 98
    ex.on_bar("SPY", bar(96, 96, 95, 95, v=1000))  # the rest as a market order at the open
    assert [(f.quantity, f.price) for f in client.fills_since(T0)] == [
        (Quantity(100), Price(98)),
        (Quantity(50), Price(96)),
    ]
    assert ex.positions(ACCT)[0].net == -150
