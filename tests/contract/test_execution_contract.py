"""The broker contract: what every ``Execution`` adapter guarantees to the trading code.

Run against each venue in ``tests/contract/venues.py``; see its docstring for what a venue
must provide.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.errors import OrderRejected
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import (
    ClientOrderId,
    Fill,
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
from core.ports import Execution
from tests.contract.venues import STARTING_CASH, Venue

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def cid(venue: Venue, signal: str) -> ClientOrderId:
    return ClientOrderId.derive(venue.account_id, "contract", date(2025, 6, 2), signal)


def equity_order(
    venue: Venue,
    signal: str,
    side: OrderSide,
    qty: int,
    limit: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
) -> Order:
    return Order.single(
        cid(venue, signal),
        venue.account_id,
        venue.equity,
        side,
        qty,
        venue.driver.now(),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=Price(limit) if limit else None,
        time_in_force=tif,
    )


def events(venue: Venue) -> list[ExecutionEvent]:
    venue.driver.settle()
    return venue.execution.poll_events()


def statuses(evts: list[ExecutionEvent]) -> list[OrderStatus]:
    return [e.status for e in evts if isinstance(e, OrderUpdated)]


def fills(evts: list[ExecutionEvent]) -> list[Fill]:
    return [e.fill for e in evts if isinstance(e, OrderFilled)]


@pytest.fixture
def spy(venue: Venue) -> Venue:
    """The venue with SPY quoted at 100.00 / 100.02."""
    venue.driver.quote(venue.equity, "100.00", "100.02")
    venue.execution.poll_events()
    return venue


def test_the_adapter_implements_the_execution_port(venue: Venue) -> None:
    assert isinstance(venue.execution, Execution)
    assert venue.execution.account_id == venue.account_id
    balance = venue.execution.balance()
    assert balance.cash == STARTING_CASH
    assert venue.execution.open_orders() == []
    assert venue.execution.get_order(cid(venue, "never-sent")) is None


def test_market_order_is_accepted_then_filled_at_the_next_ask(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "mkt", BUY, 10))
    assert placed.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)
    assert placed.broker_order_id is not None
    assert statuses(events(spy))[-1] is OrderStatus.ACCEPTED

    spy.driver.quote(spy.equity, "100.10", "100.12")
    evts = events(spy)
    assert statuses(evts) == [OrderStatus.FILLED]
    (fill,) = fills(evts)
    assert (fill.side, fill.quantity, fill.price) == (BUY, Quantity(10), Price("100.12"))
    assert fill.client_order_id == placed.client_order_id
    order = spy.execution.get_order(placed.client_order_id)
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.filled_quantity == Quantity(10) and order.avg_fill_price == Price("100.12")
    assert spy.execution.open_orders() == []


def test_limit_buy_waits_until_the_ask_reaches_the_limit(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "lmt", BUY, 5, limit="99.00"))
    spy.driver.quote(spy.equity, "99.40", "99.50")
    assert fills(events(spy)) == []
    assert [o.client_order_id for o in spy.execution.open_orders()] == [placed.client_order_id]

    spy.driver.quote(spy.equity, "98.90", "98.95")
    (fill,) = fills(events(spy))
    assert fill.price <= Price("99.00")
    assert fill.quantity == Quantity(5)


def test_limit_sell_fills_at_or_above_its_limit(spy: Venue) -> None:
    spy.execution.submit(equity_order(spy, "long", BUY, 4))
    spy.driver.quote(spy.equity, "100.00", "100.02")
    spy.execution.submit(equity_order(spy, "exit", SELL, 4, limit="101.00"))
    spy.driver.quote(spy.equity, "100.90", "100.95")
    assert fills(events(spy))[1:] == []
    spy.driver.quote(spy.equity, "101.05", "101.10")
    (fill,) = fills(events(spy))
    assert fill.side is SELL and fill.price >= Price("101.00")


def test_cancelled_order_never_fills(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "cxl", BUY, 5, limit="95.00"))
    cancelled = spy.execution.cancel(placed.client_order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert OrderStatus.CANCELLED in statuses(events(spy))
    spy.driver.quote(spy.equity, "94.00", "94.05")
    assert fills(events(spy)) == []
    assert spy.execution.open_orders() == []
    assert spy.execution.cancel(placed.client_order_id).status is OrderStatus.CANCELLED


def test_cancel_of_an_unknown_order_is_refused(venue: Venue) -> None:
    with pytest.raises(OrderRejected):
        venue.execution.cancel(cid(venue, "nobody"))


def test_replace_changes_price_and_quantity_of_a_working_order(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "rpl", BUY, 10, limit="95.00"))
    replaced = spy.execution.replace(placed.client_order_id, quantity=Quantity(6), limit_price=Price("99.50"))
    assert replaced.client_order_id == placed.client_order_id
    assert (replaced.quantity, replaced.limit_price) == (Quantity(6), Price("99.50"))
    assert replaced.status.is_open
    spy.driver.quote(spy.equity, "99.30", "99.40")
    (fill,) = fills(events(spy))
    assert fill.quantity == Quantity(6) and fill.price <= Price("99.50")


def test_replace_to_zero_quantity_is_refused_and_changes_nothing(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "zero", BUY, 10, limit="95.00"))
    with pytest.raises(OrderRejected):
        spy.execution.replace(placed.client_order_id, quantity=Quantity(0))
    order = spy.execution.get_order(placed.client_order_id)
    assert order is not None and order.quantity == Quantity(10) and order.status.is_open


def test_resubmitting_a_client_order_id_returns_the_original(spy: Venue) -> None:
    order = equity_order(spy, "dup", BUY, 3, limit="95.00")
    first = spy.execution.submit(order)
    again = spy.execution.submit(order)
    assert again.broker_order_id == first.broker_order_id
    assert len(spy.execution.open_orders()) == 1

    spy.driver.quote(spy.equity, "94.00", "94.10")
    events(spy)
    after_fill = spy.execution.submit(order)
    assert after_fill.status is OrderStatus.FILLED
    spy.driver.quote(spy.equity, "94.00", "94.10")
    assert fills(events(spy)) == []
    assert len(spy.execution.fills_since(order.created_at)) == 1


def test_order_beyond_buying_power_is_rejected_with_a_reason(spy: Venue) -> None:
    order = equity_order(spy, "huge", BUY, 100_000, limit="100.00")
    rejected = spy.execution.submit(order)
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.reason
    evts = events(spy)
    assert statuses(evts) == [OrderStatus.REJECTED]
    assert spy.execution.submit(order).status is OrderStatus.REJECTED
    assert spy.execution.open_orders() == []
    spy.driver.quote(spy.equity, "99.00", "99.10")
    assert fills(events(spy)) == []


def test_order_for_an_unknown_instrument_is_rejected(venue: Venue) -> None:
    rejected = venue.execution.submit(equity_order(venue, "unquoted", BUY, 1, limit="10.00"))
    assert rejected.status is OrderStatus.REJECTED and rejected.reason


def test_partial_fills_then_the_rest(spy: Venue) -> None:
    placed = spy.execution.submit(equity_order(spy, "part", BUY, 10, limit="100.00"))
    events(spy)
    spy.driver.quote(spy.equity, "99.80", "99.90", size=3)
    evts = events(spy)
    assert [f.quantity for f in fills(evts)] == [Quantity(3)]
    assert statuses(evts) == [OrderStatus.PARTIALLY_FILLED]
    order = spy.execution.get_order(placed.client_order_id)
    assert order is not None and order.filled_quantity == Quantity(3) and order.status.is_open

    spy.driver.quote(spy.equity, "99.90", "100.00", size=50)
    evts = events(spy)
    assert [f.quantity for f in fills(evts)] == [Quantity(7)]
    assert statuses(evts) == [OrderStatus.FILLED]
    done = spy.execution.get_order(placed.client_order_id)
    assert done is not None and done.filled_quantity == Quantity(10)
    expected_avg = (Decimal("99.90") * 3 + Decimal("100.00") * 7) / 10
    assert done.avg_fill_price == Price(expected_avg)


def test_reports_agree_with_the_events(spy: Venue) -> None:
    start = spy.driver.now()
    spy.execution.submit(equity_order(spy, "a", BUY, 20))
    spy.execution.submit(equity_order(spy, "b", BUY, 5, limit="90.00", tif=TimeInForce.GTC))
    spy.driver.quote(spy.equity, "100.00", "100.05")
    spy.execution.submit(equity_order(spy, "c", SELL, 8))
    spy.driver.quote(spy.equity, "100.20", "100.25")
    seen = fills(events(spy))

    reported = spy.execution.fills_since(start)
    assert [f.fill_id for f in reported] == [f.fill_id for f in seen]
    cash = STARTING_CASH
    for f in seen:
        cash = cash + f.cash_flow
    report = spy.execution.report(start)
    assert report.balance.cash == cash == spy.execution.balance().cash
    assert [(p.instrument, p.net) for p in report.positions] == [(spy.equity, Decimal(12))]
    assert [o.client_order_id for o in report.open_orders] == [cid(spy, "b")]
    assert {o.client_order_id for o in report.orders} == {cid(spy, s) for s in "abc"}
    assert report.fills == tuple(reported)
    assert report.balance.equity.amount == pytest.approx(
        cash.amount + 12 * Decimal("100.225"), abs=Decimal("0.01")
    )


def test_credit_spread_fills_only_once_the_natural_price_reaches_the_limit(venue: Venue) -> None:
    if not venue.execution.capabilities.multi_leg:
        pytest.skip(f"{venue.name} takes no multi-leg orders")
    short_put, long_put = venue.puts
    venue.driver.quote(short_put, "2.00", "2.10")
    venue.driver.quote(long_put, "0.90", "1.00")
    venue.execution.poll_events()
    order = Order.combo(
        cid(venue, "spread"),
        venue.account_id,
        (OrderLeg(short_put, SELL), OrderLeg(long_put, BUY)),
        2,
        Price("1.20"),
        PriceEffect.CREDIT,
        venue.driver.now(),
    )
    placed = venue.execution.submit(order)
    assert placed.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)
    events(venue)

    venue.driver.quote(long_put, "0.85", "0.95")  # natural 2.00 - 0.95 = 1.05 < 1.20
    assert fills(events(venue)) == []
    venue.driver.quote(short_put, "2.25", "2.35")  # natural 2.25 - 0.95 = 1.30 >= 1.20
    evts = events(venue)
    legs = {f.instrument: f for f in fills(evts)}
    assert set(legs) == {short_put, long_put}
    assert legs[short_put].side is SELL and legs[short_put].price == Price("2.25")
    assert legs[long_put].side is BUY and legs[long_put].price == Price("0.95")
    assert all(f.quantity == Quantity(2) for f in legs.values())
    assert statuses(evts) == [OrderStatus.FILLED]
    done = venue.execution.get_order(order.client_order_id)
    assert done is not None and done.avg_fill_price is not None and done.avg_fill_price >= Price("1.20")


def test_day_orders_expire_at_the_close_and_gtc_orders_stay(spy: Venue) -> None:
    day = spy.execution.submit(equity_order(spy, "day", BUY, 1, limit="90.00"))
    gtc = spy.execution.submit(equity_order(spy, "gtc", BUY, 1, limit="90.00", tif=TimeInForce.GTC))
    events(spy)
    spy.driver.end_session()
    assert OrderStatus.EXPIRED in statuses(events(spy))
    expired = spy.execution.get_order(day.client_order_id)
    assert expired is not None and expired.status is OrderStatus.EXPIRED
    assert [o.client_order_id for o in spy.execution.open_orders()] == [gtc.client_order_id]
    spy.driver.advance(timedelta(hours=1))
    spy.driver.quote(spy.equity, "89.00", "89.10")
    (fill,) = fills(events(spy))
    assert fill.client_order_id == gtc.client_order_id
