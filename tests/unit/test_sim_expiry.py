"""Option expiry: cash settlement, exercise and assignment, worthless expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient, ZeroCommission
from adapters.brokers.sim.expiry import settle
from adapters.brokers.sim.fees import StandardCommission
from core.clock import SimClock
from core.errors import DataError
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Money,
    OptionContract,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quote,
    TimeInForce,
)

T0 = datetime(2025, 6, 20, 14, 0, tzinfo=UTC)
EXPIRY = date(2025, 6, 20)
ACCT = AccountId("opt")
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def setup(cash: int = 100_000):
    clock = SimClock(T0)
    config = SimExchangeConfig(
        fill_on=FillOn.NEXT_QUOTE, commission=StandardCommission(option=ZeroCommission())
    )
    ex = SimExchange(config, clock)
    ex.open_account(ACCT, Money(cash), margin=True)
    return ex, SimExecutionClient(ex, ACCT)


def trade(
    ex: SimExchange, client: SimExecutionClient, contract: OptionContract, side: OrderSide, qty: int, px: str
) -> None:
    quote = Quote(contract.id, Price(px), Price(px), T0)
    ex.on_quote(quote)
    name = f"{contract.id}-{side}-{qty}"
    client.submit(Order.single(ClientOrderId(name[-48:]), ACCT, contract, side, qty, T0, OrderType.MARKET))
    ex.on_quote(quote)


def test_settle_rules() -> None:
    call = OptionContract("AAPL", EXPIRY, "C", 200)
    assert [(s.side, s.quantity, s.price) for s in settle(call, D(2), D(190))] == [(SELL, D(2), D(0))]
    exercised = settle(call, D(2), D(210))
    assert [(s.instrument, s.side, s.quantity, s.price) for s in exercised] == [
        (call, SELL, D(2), D(0)),
        (Equity("AAPL"), BUY, D(200), D(200)),
    ]
    put = OptionContract("AAPL", EXPIRY, "P", 200)
    assigned = settle(put, D(-1), D(195))
    assert [(s.instrument, s.side, s.quantity, s.reason) for s in assigned][1] == (
        Equity("AAPL"),
        BUY,
        D(100),
        "assigned",
    )
    spx = OptionContract("SPX", EXPIRY, "C", 5000, root="SPXW")
    assert [(s.side, s.price) for s in settle(spx, D(-1), D("5012.5"))] == [(BUY, D("12.5"))]


def test_cash_settled_index_option_pays_its_intrinsic_value() -> None:
    ex, client = setup()
    spx = OptionContract("SPX", EXPIRY, "C", 5000, root="SPXW")
    trade(ex, client, spx, BUY, 1, "10.00")
    assert client.balance().cash == Money(99_000)
    fills = ex.expire_options(EXPIRY, {"SPX": 5025.0})
    assert [(f.side, f.price) for f in fills] == [(SELL, Price(25))]
    assert client.balance().cash == Money(101_500)
    assert ex.positions(ACCT) == []
    assert client.fills_since(T0)[-1] == fills[0]


def test_equity_options_are_exercised_and_assigned_into_shares_at_the_strike() -> None:
    ex, client = setup()
    call = OptionContract("AAPL", EXPIRY, "C", 200)
    put = OptionContract("AAPL", EXPIRY, "P", 190)
    otm = OptionContract("AAPL", EXPIRY, "P", 180)
    trade(ex, client, call, BUY, 2, "3.00")  # long call, ITM at 205: buys 200 shares at 200
    trade(ex, client, put, SELL, 1, "1.00")  # short put, OTM at 205: expires worthless
    trade(ex, client, otm, BUY, 1, "0.50")
    cash_before = client.balance().cash
    ex.expire_options(EXPIRY, {"AAPL": 205.0})
    positions = {p.instrument: p for p in ex.positions(ACCT)}
    assert list(positions) == [Equity("AAPL")]
    assert positions[Equity("AAPL")].net == 200
    assert positions[Equity("AAPL")].avg_price == Price(200)
    assert client.balance().cash == cash_before - Money(40_000)


def test_short_call_assignment_delivers_shares() -> None:
    ex, client = setup()
    call = OptionContract("MSFT", EXPIRY, "C", 400)
    trade(ex, client, call, SELL, 1, "5.00")
    ex.expire_options(EXPIRY, {"MSFT": 410})
    (shares,) = ex.positions(ACCT)
    assert (shares.instrument, shares.net, shares.avg_price) == (Equity("MSFT"), -100, Price(400))


def test_missing_settlement_price_changes_nothing() -> None:
    ex, client = setup()
    call = OptionContract("AAPL", EXPIRY, "C", 200)
    trade(ex, client, call, BUY, 1, "3.00")
    with pytest.raises(DataError, match="AAPL"):
        ex.expire_options(EXPIRY, {"SPY": 500})
    assert [p.instrument for p in ex.positions(ACCT)] == [call]


def test_open_orders_on_expiring_options_expire() -> None:
    ex, client = setup()
    call = OptionContract("AAPL", EXPIRY, "C", 200)
    ex.on_quote(Quote(call.id, Price(1), Price("1.2"), T0))
    gtc = Order.single(
        ClientOrderId("gtc-call"),
        ACCT,
        call,
        BUY,
        1,
        T0,
        OrderType.LIMIT,
        Price("0.5"),
        time_in_force=TimeInForce.GTC,
    )
    client.submit(gtc)
    ex.expire_options(EXPIRY, {})
    assert client.get_order(gtc.client_order_id).status is OrderStatus.EXPIRED
