"""Tastytrade connection scenarios against the fake over loopback: a frozen feed (watchdog →
reconnect → resubscribe), a dropped socket (both streamers reconnect; a fill while down is
recovered from REST), chunked subscriptions, IV rank and the dry-run buying-power effect."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.brokers.tastytrade.data import TastytradeMarketData
from adapters.brokers.tastytrade.execution import TastytradeExecution
from core.messages import OrderFilled
from core.model import (
    ClientOrderId,
    Instrument,
    Money,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    Quote,
)
from tests.contract.venues import TastytradeDriver, Venue, tastytrade_venue


@pytest.fixture
def venue() -> Iterator[Venue]:
    v = tastytrade_venue(watchdog_s=0.4, chunk_size=2)
    yield v
    assert v.close is not None
    v.close()


def until(done: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.02)
    return done()


def parts(venue: Venue) -> tuple[TastytradeDriver, TastytradeExecution, TastytradeMarketData]:
    driver = venue.driver
    assert isinstance(driver, TastytradeDriver) and isinstance(venue.execution, TastytradeExecution)
    return driver, venue.execution, TastytradeMarketData(venue.execution._session, driver.clock)


def test_subscriptions_go_out_in_chunks(venue: Venue) -> None:
    driver, _, data = parts(venue)
    instruments: list[Instrument] = [venue.equity, *venue.puts]
    for i in instruments:
        driver.quote(i, "1.00", "1.10")
    data.subscribe_quotes([i.id for i in instruments])
    assert data.wait_for([i.id for i in instruments], newer_than=driver.now() - timedelta(days=1))
    sizes = driver.handle.fake.call(lambda: list(driver.handle.fake.subscription_sizes))
    assert sizes[:2] == [2, 1]  # three quote symbols at two a message (greeks follow for options)
    assert max(sizes) <= 2
    data.close()


def test_a_frozen_feed_is_reconnected_and_resubscribed_by_the_watchdog(venue: Venue) -> None:
    driver, _, data = parts(venue)
    driver.quote(venue.equity, "100.00", "100.02")
    data.subscribe_quotes([venue.equity.id])
    assert data.wait_for([venue.equity.id], newer_than=driver.now() - timedelta(seconds=1))
    driver.handle.freeze()
    driver.quote(venue.equity, "101.00", "101.02")  # sent nowhere: the feed is frozen
    assert until(lambda: data.status().reconnects >= 1)
    assert data.latest_quote(venue.equity.id).bid == Price("100.00")  # type: ignore[union-attr]
    driver.handle.freeze(False)
    assert until(lambda: data.latest_quote(venue.equity.id).bid == Price("101.00"))  # type: ignore[union-attr]
    assert driver.handle.connections("dxlink") == 1  # the old socket was let go
    assert any("silent" in a for a in venue.execution._session.alerts)  # type: ignore[attr-defined]
    data.close()


def test_a_dropped_socket_loses_no_fill_and_the_feed_comes_back(venue: Venue) -> None:
    driver, execution, data = parts(venue)
    driver.quote(venue.equity, "100.00", "100.02")
    data.subscribe_quotes([venue.equity.id])
    assert data.wait_for([venue.equity.id], newer_than=driver.now() - timedelta(seconds=1))
    cid = ClientOrderId("rd-drop-test")
    order = Order.single(cid, venue.account_id, venue.equity, OrderSide.BUY, 5, driver.now(),
                         order_type=OrderType.LIMIT, limit_price=Price("100.05"))  # fmt: skip
    execution.submit(order)
    execution.poll_events()
    driver.handle.drop()
    driver.quote(venue.equity, "100.01", "100.03")  # fills while both sockets are down
    assert until(lambda: execution.stream_reconnects >= 1 and data.status().reconnects >= 1)
    filled = [e for e in execution.poll_events() if isinstance(e, OrderFilled)]
    assert [(f.fill.quantity, f.fill.price) for f in filled] == [(Quantity(5), Price("100.03"))]
    assert execution.get_order(cid).status is OrderStatus.FILLED  # type: ignore[union-attr]
    driver.quote(venue.equity, "100.50", "100.52")
    assert until(lambda: data.latest_quote(venue.equity.id).bid == Price("100.50"))  # type: ignore[union-attr]
    assert execution.poll_events() == [] and len(execution.fills_since(order.created_at)) == 1
    data.close()


def test_iv_rank_and_the_dry_run_buying_power_effect(venue: Venue) -> None:
    driver, execution, data = parts(venue)
    driver.handle.set_iv_rank("QQQ", Decimal("0.37"))
    assert data.iv_rank("QQQ") == Decimal("0.37") and data.iv_rank("XYZ") is None
    driver.quote(venue.equity, "100.00", "100.02")
    order = Order.single(ClientOrderId("rd-dry"), venue.account_id, venue.equity, OrderSide.BUY, 10,
                         driver.now(), order_type=OrderType.LIMIT, limit_price=Price("100.00"))  # fmt: skip
    effect = execution.dry_run(order)
    assert effect.change_in_buying_power == Money(1000) and effect.errors == ()
    assert effect.new_buying_power == Money(100_000 - 1000)
    assert execution.open_orders() == [] and driver.handle.place_orders == 0
    data.close()


def test_quotes_carry_the_exchange_time(venue: Venue) -> None:
    driver, _, data = parts(venue)
    driver.quote(venue.equity, "100.00", "100.02")
    sent = driver.now()
    data.subscribe_quotes([venue.equity.id])
    assert data.wait_for([venue.equity.id], newer_than=sent - timedelta(seconds=1))
    driver.advance(timedelta(seconds=45))
    quote = data.latest_quote(venue.equity.id)
    assert isinstance(quote, Quote) and quote.ts == sent and quote.is_stale(driver.now(), 30)
    data.close()
