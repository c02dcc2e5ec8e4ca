from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import IllegalTransition, InvalidValue
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
    Quantity,
    TimeInForce,
)
from core.model.orders import _TRANSITIONS

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
ACCT = AccountId("acct")


def _order(**kw: object) -> Order:
    base: dict[str, object] = dict(
        client_order_id=ClientOrderId("rd-1"),
        account_id=ACCT,
        instrument=Equity("AAPL"),
        side=OrderSide.BUY,
        quantity=10,
        created_at=T0,
    )
    base.update(kw)
    return Order.single(**base)  # type: ignore[arg-type]


def test_order_types_validate_their_prices() -> None:
    assert _order().order_type is OrderType.MARKET
    assert _order(order_type=OrderType.LIMIT, limit_price=Price("1.5")).limit_price == Price("1.5")
    stop = _order(order_type=OrderType.STOP, stop_price=Price(2), time_in_force=TimeInForce.GTC)
    assert stop.time_in_force is TimeInForce.GTC
    _order(order_type=OrderType.STOP_LIMIT, stop_price=Price(2), limit_price=Price("2.1"))
    with pytest.raises(InvalidValue, match="needs limit"):
        _order(order_type=OrderType.LIMIT)
    with pytest.raises(InvalidValue, match="takes no limit"):
        _order(limit_price=Price(1))
    with pytest.raises(InvalidValue, match="needs stop"):
        _order(order_type=OrderType.STOP_LIMIT, limit_price=Price(1))
    with pytest.raises(InvalidValue):
        _order(quantity=0)
    with pytest.raises(InvalidValue):
        _order(created_at=datetime(2025, 1, 1))


def test_vertical_spread_is_one_order_with_net_credit() -> None:
    exp = date(2025, 12, 19)
    short = OptionContract("QQQ", exp, "P", 622)
    long = OptionContract("QQQ", exp, "P", 619)
    spread = Order.combo(
        ClientOrderId("rd-2"),
        ACCT,
        (OrderLeg(short, OrderSide.SELL), OrderLeg(long, OrderSide.BUY)),
        quantity=1,
        limit_price=Price("1.05"),
        price_effect=PriceEffect.CREDIT,
        created_at=T0,
    )
    assert spread.is_multi_leg and spread.is_option_order
    with pytest.raises(InvalidValue):
        _ = spread.instrument
    with pytest.raises(InvalidValue, match="same instrument"):
        Order.combo(
            ClientOrderId("rd-3"),
            ACCT,
            (OrderLeg(short, OrderSide.SELL), OrderLeg(short, OrderSide.BUY)),
            1,
            Price(1),
            PriceEffect.CREDIT,
            T0,
        )
    with pytest.raises(InvalidValue, match="ratio"):
        OrderLeg(short, OrderSide.SELL, ratio=0)


def test_fills_move_order_to_partial_then_filled_with_average_price() -> None:
    o = _order().submitted(T0).transition(OrderStatus.ACCEPTED, T0)
    o = o.with_fill(Quantity(4), Price(10), T0)
    assert o.status is OrderStatus.PARTIALLY_FILLED and o.leaves_quantity == Quantity(6)
    o = o.with_fill(Quantity(6), Price(11), T0)
    assert o.status is OrderStatus.FILLED
    assert o.avg_fill_price == Price(Decimal("10.6"))
    with pytest.raises(IllegalTransition):
        o.transition(OrderStatus.CANCELLED, T0)


def test_overfill_refused() -> None:
    o = _order().submitted(T0)
    with pytest.raises(InvalidValue, match="exceeds"):
        o.with_fill(Quantity(11), Price(1), T0)


def test_client_order_id_is_deterministic() -> None:
    a = ClientOrderId.derive(ACCT, "swing", date(2025, 11, 3), "AAPL:entry")
    assert a == ClientOrderId.derive(ACCT, "swing", date(2025, 11, 3), "AAPL:entry")
    assert a != ClientOrderId.derive(ACCT, "swing", date(2025, 11, 4), "AAPL:entry")
    assert len(str(a)) <= 48


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=8))
def test_state_machine_accepts_exactly_the_table(path: list[OrderStatus]) -> None:
    order = _order()
    for status in path:
        allowed = status in _TRANSITIONS[order.status]
        if allowed:
            order = order.transition(status, T0)
            assert order.status is status
        else:
            with pytest.raises(IllegalTransition):
                order.transition(status, T0)
    if order.status.is_terminal:
        assert all(not order.status.can_transition_to(s) for s in OrderStatus)


@given(st.lists(st.integers(min_value=1, max_value=5), max_size=6))
def test_fills_never_exceed_quantity(sizes: list[int]) -> None:
    order = _order().submitted(T0)
    for n in sizes:
        if Quantity(n) > order.leaves_quantity:
            with pytest.raises(InvalidValue):
                order.with_fill(Quantity(n), Price(1), T0)
            continue
        order = order.with_fill(Quantity(n), Price(1), T0)
        assert order.filled_quantity <= order.quantity
        assert (order.status is OrderStatus.FILLED) == (order.filled_quantity == order.quantity)


def test_once_per_day_guard_statuses() -> None:
    blocking = {s for s in OrderStatus if s.counts_as_trade}
    assert blocking == {
        OrderStatus.PENDING,
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    }
