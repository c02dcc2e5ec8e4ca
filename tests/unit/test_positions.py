from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.errors import InvalidValue
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Instrument,
    Money,
    OptionContract,
    OrderSide,
    Position,
    Price,
    Quantity,
)

T = datetime(2025, 11, 3, 15, tzinfo=UTC)
A = AccountId("a")
AAPL = Equity("AAPL")
_n = iter(range(10_000))


def fill(side: OrderSide, qty: int, price: str, inst: Instrument = AAPL, commission: str = "0") -> Fill:
    return Fill(
        FillId(f"f{next(_n)}"),
        ClientOrderId("rd-x"),
        A,
        inst,
        side,
        Quantity(qty),
        Price(price),
        T,
        Money(commission),
    )


def test_long_add_reduce_close() -> None:
    p = Position.flat(A, AAPL).apply(fill(OrderSide.BUY, 10, "100")).apply(fill(OrderSide.BUY, 10, "110"))
    assert p.net == 20 and p.avg_price == Price(105)
    assert p.unrealized_pnl(Price(106)) == Money(20)
    p = p.apply(fill(OrderSide.SELL, 5, "115", commission="1"))
    assert p.net == 15 and p.avg_price == Price(105)
    assert p.realized_pnl == Money(49)  # 5 × 10 − 1 commission
    p = p.apply(fill(OrderSide.SELL, 15, "100"))
    assert p.is_flat and p.realized_pnl == Money(49 - 75)


def test_short_and_flip() -> None:
    p = Position.flat(A, AAPL).apply(fill(OrderSide.SELL, 10, "50"))
    assert p.is_short and p.unrealized_pnl(Price(45)) == Money(50)
    p = p.apply(fill(OrderSide.BUY, 15, "40"))
    assert p.is_long and p.net == 5 and p.avg_price == Price(40)
    assert p.realized_pnl == Money(100)


def test_option_multiplier_in_pnl() -> None:
    put = OptionContract("QQQ", date(2025, 12, 19), "P", 622)
    p = Position.flat(A, put).apply(fill(OrderSide.SELL, 2, "3.10", put))
    assert p.market_value(Price("2.10")) == Money(-420)
    assert p.unrealized_pnl(Price("2.10")) == Money(200)
    p = p.apply(fill(OrderSide.BUY, 2, "1.00", put))
    assert p.realized_pnl == Money(Decimal("420.00"))


def test_fill_for_other_instrument_refused() -> None:
    with pytest.raises(InvalidValue):
        Position.flat(A, Equity("MSFT")).apply(fill(OrderSide.BUY, 1, "1"))


def test_fill_cash_flow_and_balance() -> None:
    f = fill(OrderSide.BUY, 10, "100", commission="1")
    assert f.cash_flow == Money(-1001)
    bal = AccountBalance(A, Money(1000), Money(2000), Money(1500), T)
    assert bal.buying_power > bal.cash
    with pytest.raises(InvalidValue):
        AccountBalance(A, Money(1), Money(1, "EUR"), Money(1), T)
