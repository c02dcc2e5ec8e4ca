"""The IBKR adapter through TWS's bad days, against the fake TWS (no Ray).

Each scenario drives the real ib_async client over a socket: connection codes 1100/1101/1102,
farm codes, a dropped socket with a fill while it was down, TWS refusing connections (its
nightly reset), a client id already in use, and a restart that must not send anything twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.execution import IbkrExecution
from adapters.brokers.ibkr.session import ClientIdInUse, IbSession
from core.errors import BrokerUnavailable
from core.messages import OrderFilled
from core.model import ClientOrderId, Order, OrderSide, OrderStatus, OrderType, Price, Quantity
from tests.contract.venues import IbkrDriver, Venue, ibkr_venue

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rig() -> Iterator[Venue]:
    venue = ibkr_venue()
    yield venue
    assert venue.close is not None
    venue.close()


def driver(venue: Venue) -> IbkrDriver:
    assert isinstance(venue.driver, IbkrDriver)
    return venue.driver


def limit_buy(venue: Venue, signal: str, qty: int, limit: str) -> Order:
    cid = ClientOrderId.derive(venue.account_id, "ibkr", date(2025, 6, 2), signal)
    return Order.single(
        cid,
        venue.account_id,
        venue.equity,
        OrderSide.BUY,
        qty,
        venue.driver.now(),
        OrderType.LIMIT,
        Price(limit),
    )


def wait_until(what: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def fills_of(venue: Venue) -> list[OrderFilled]:
    venue.driver.settle()
    return [e for e in venue.execution.poll_events() if isinstance(e, OrderFilled)]


def test_1100_pauses_new_orders_until_1102_and_alerts(rig: Venue) -> None:
    d = driver(rig)
    rig.driver.quote(rig.equity, "100.00", "100.02")
    d.handle.code(1100)
    wait_until(lambda: not d.adapter.ready)
    sent = d.handle.place_orders
    with pytest.raises(BrokerUnavailable):
        rig.execution.submit(limit_buy(rig, "during-1100", 1, "99.00"))
    assert d.handle.place_orders == sent
    assert any("1100" in a for a in d.session.alerts)
    status = d.data.status()
    assert status.connected and not status.healthy and "1100" in status.detail

    d.handle.code(1102)
    wait_until(lambda: d.adapter.ready)
    placed = rig.execution.submit(limit_buy(rig, "after-1102", 1, "99.00"))
    assert placed.status is OrderStatus.ACCEPTED
    assert d.handle.place_orders == sent + 1
    assert d.data.status().healthy


def test_1101_resubscribes_every_line_and_loses_no_fill(rig: Venue) -> None:
    d = driver(rig)
    short_put = rig.puts[0]
    for instrument, bid, ask in ((rig.equity, "100.00", "100.02"), (short_put, "2.00", "2.10")):
        rig.driver.quote(instrument, bid, ask)
    d.data.subscribe_quotes([rig.equity.id, short_put.id])
    rig.driver.settle()
    wait_until(lambda: len(d.data.poll().quotes) > 0 or d.data.latest_quote(rig.equity.id) is not None)
    order = rig.execution.submit(limit_buy(rig, "working", 5, "99.00"))

    d.handle.code(1101)  # the fake drops this client's market-data lines, as TWS does
    rig.driver.quote(rig.equity, "98.90", "98.95")  # fills the working order
    rig.driver.quote(short_put, "2.20", "2.30")
    wait_until(lambda: d.data.resubscriptions == 1)
    rig.driver.settle()
    wait_until(lambda: (q := d.data.latest_quote(short_put.id)) is not None and q.bid == Price("2.20"))
    spy = d.data.latest_quote(rig.equity.id)
    assert spy is not None and spy.ask == Price("98.95")
    assert d.data.status().subscriptions == 2
    (fill,) = [e.fill for e in fills_of(rig)]
    assert fill.client_order_id == order.client_order_id and fill.quantity == Quantity(5)


def test_farm_codes_are_data_health_not_reconnects(rig: Venue) -> None:
    d = driver(rig)
    d.handle.code(2103)
    d.handle.code(2105)
    wait_until(lambda: len(d.data.status().flags) == 2)
    status = d.data.status()
    assert status.flags == ("2103:usfarm", "2105:ushmds") and not status.healthy and status.connected
    d.handle.code(2104)
    d.handle.code(2106)
    wait_until(lambda: d.data.status().healthy)
    assert d.data.status().flags == ()
    assert d.session.reconnect_loops == 0 and d.adapter.ready


def test_a_fill_while_the_socket_was_down_is_recovered_by_one_reconnect_loop(rig: Venue) -> None:
    d = driver(rig)
    put = rig.puts[0]
    rig.driver.quote(put, "2.00", "2.10")
    cid = ClientOrderId.derive(rig.account_id, "ibkr", date(2025, 6, 2), "while-down")
    order = Order.single(
        cid, rig.account_id, put, OrderSide.BUY, 3, rig.driver.now(), OrderType.LIMIT, Price("1.90")
    )
    rig.execution.submit(order)
    rig.execution.poll_events()
    d.handle.refuse(True)  # TWS gone (its nightly reset): sockets closed, connections refused
    wait_until(lambda: not d.session.connected)
    rig.driver.quote(put, "1.80", "1.85")
    (at_venue,) = d.handle.run(lambda: d.exchange.fills_since(rig.account_id, order.created_at))
    d.handle.drop()
    time.sleep(0.3)  # several back-off rounds fail meanwhile
    d.handle.refuse(False)
    wait_until(lambda: d.session.ready)
    d.handle.code(2103)  # farm flaps after the reset start nothing
    (event,) = fills_of(rig)
    assert (
        (event.fill.price, event.fill.quantity)
        == (at_venue.price, at_venue.quantity)
        == (Price("1.85"), Quantity(3))
    )
    assert event.fill.commission == at_venue.commission and event.fill.commission.amount > 0
    done = rig.execution.get_order(order.client_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    assert (d.session.reconnect_loops, d.session.reconnects) == (1, 1)


def test_pending_cancel_and_inactive_are_not_done_until_tws_says_cancelled() -> None:
    venue = ibkr_venue(ack_timeout=0.3)
    try:
        d = driver(venue)
        venue.driver.quote(venue.equity, "100.00", "100.02")
        placed = venue.execution.submit(limit_buy(venue, "held", 2, "95.00"))
        d.handle.mark_inactive(placed.client_order_id)  # TWS holds it: not cancelled, not rejected
        venue.driver.settle()
        inactive = venue.execution.get_order(placed.client_order_id)
        assert inactive is not None and inactive.status is OrderStatus.ACCEPTED
        d.handle.hold_cancels()
        pending = venue.execution.cancel(placed.client_order_id)
        assert pending.status is OrderStatus.ACCEPTED  # PendingCancel is not done
        assert [o.client_order_id for o in venue.execution.open_orders()] == [placed.client_order_id]
        d.handle.hold_cancels(False)
        venue.driver.settle()
        done = venue.execution.get_order(placed.client_order_id)
        assert done is not None and done.status is OrderStatus.CANCELLED
        assert venue.execution.open_orders() == []
    finally:
        assert venue.close is not None
        venue.close()


def test_a_client_id_in_use_fails_with_a_clear_message(rig: Venue) -> None:
    d = driver(rig)
    settings = IbkrSettings.from_connection(d.handle.credentials.ibkr, environ={}, connect_timeout=1.0)
    with pytest.raises(ClientIdInUse, match=r"client id 7: it is already in use.*IBKR_CLIENT_ID"):
        IbSession(settings).start()
    assert d.adapter.ready  # the session holding the id is untouched


def test_a_restart_matches_orders_and_executions_and_sends_nothing_twice(rig: Venue) -> None:
    d = driver(rig)
    rig.driver.quote(rig.equity, "100.00", "100.02")
    working = limit_buy(rig, "open", 4, "99.00")
    filled = limit_buy(rig, "filled", 2, "100.05")
    rig.execution.submit(working)
    rig.execution.submit(filled)
    rig.driver.quote(rig.equity, "100.01", "100.03")
    (before,) = [e.fill for e in fills_of(rig)]
    d.session.close()  # the process dies; TWS keeps its orders and executions

    settings = IbkrSettings.from_connection(d.handle.credentials.ibkr, environ={}, connect_timeout=2.0)
    session = IbSession(settings, d.clock)
    again = IbkrExecution(session, rig.account_id, d.clock)
    session.start()
    try:
        sent = d.handle.place_orders
        assert again.submit(working).status is OrderStatus.ACCEPTED
        assert again.submit(filled).status is OrderStatus.FILLED
        assert d.handle.place_orders == sent
        assert [f.fill_id for f in again.fills_since(before.ts)] == [before.fill_id]
        assert again.fills_since(before.ts)[0].commission == before.commission
        assert [o.client_order_id for o in again.open_orders()] == [working.client_order_id]
        assert again.cancel(working.client_order_id).status is OrderStatus.CANCELLED
    finally:
        session.close()
