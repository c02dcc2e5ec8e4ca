"""The Alpaca adapter against the Alpaca simulator's fault scenarios (alpaca-py over loopback).

Partial fills and rejects as Alpaca reports them, HTTP 429 bursts that never make the adapter
sleep (the trading loop's own retry policy decides, within one bar), a trade socket dropped
while fills happen (each recovered once, through REST, before the adapter is ready again), a
data socket that stays open but goes silent (the watchdog reconnects and resubscribes), bars
in pages, and keys Alpaca refuses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.data import AlpacaMarketData
from adapters.brokers.alpaca.execution import AlpacaExecution
from adapters.brokers.alpaca.rest import data_client, trading_client
from adapters.brokers.factory import BrokerContext, open_clients
from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from configs.accounts import AccountConfig
from core.errors import BrokerUnavailable, ConfigError, OrderRejected
from core.execution.service import RetryPolicy, send_order
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import ClientOrderId, Order, OrderSide, OrderStatus, OrderType, Price, Quantity
from tests.contract.venues import AlpacaDriver, Venue, alpaca_venue

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rig() -> Iterator[Venue]:
    venue = alpaca_venue()
    venue.driver.quote(venue.equity, "100.00", "100.02")
    yield venue
    assert venue.close is not None
    venue.close()


def driver_of(venue: Venue) -> AlpacaDriver:
    assert isinstance(venue.driver, AlpacaDriver)
    return venue.driver


def adapter_of(venue: Venue) -> AlpacaExecution:
    assert isinstance(venue.execution, AlpacaExecution)
    return venue.execution


def limit_buy(venue: Venue, signal: str, qty: int, limit: str) -> Order:
    cid = ClientOrderId.derive(venue.account_id, "scenario", date(2025, 6, 2), signal)
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


def events(venue: Venue) -> list[ExecutionEvent]:
    venue.driver.settle()
    return venue.execution.poll_events()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition never held")
        time.sleep(0.01)


def test_partial_fills_come_as_partial_fill_updates_and_fill_activities(rig: Venue) -> None:
    order = rig.execution.submit(limit_buy(rig, "part", 10, "100.00"))
    events(rig)
    rig.driver.quote(rig.equity, "99.80", "99.90", size=4)
    rig.driver.quote(rig.equity, "99.80", "99.95", size=4)
    seen = events(rig)
    fills = [e.fill for e in seen if isinstance(e, OrderFilled)]
    assert [f.quantity for f in fills] == [Quantity(4), Quantity(4)]
    assert [e.status for e in seen if isinstance(e, OrderUpdated)] == [OrderStatus.PARTIALLY_FILLED] * 2
    reported = rig.execution.fills_since(order.created_at)
    assert [(f.fill_id, f.price) for f in reported] == [(f.fill_id, f.price) for f in fills]
    (working,) = rig.execution.open_orders()
    assert working.filled_quantity == Quantity(8) and working.status is OrderStatus.PARTIALLY_FILLED


def test_rejects_leave_no_order_at_alpaca_and_say_why(rig: Venue) -> None:
    handle = driver_of(rig).handle
    rejected = rig.execution.submit(limit_buy(rig, "huge", 100_000, "100.00"))
    assert rejected.status is OrderStatus.REJECTED and "buying power" in rejected.reason
    assert handle.requests("POST", "/v2/orders")[-1][2] == 403
    assert handle.created == []
    assert [e.status for e in events(rig) if isinstance(e, OrderUpdated)] == [OrderStatus.REJECTED]
    working = rig.execution.submit(limit_buy(rig, "small", 1, "90.00"))
    with pytest.raises(OrderRejected, match="quantity must exceed"):
        rig.execution.replace(working.client_order_id, quantity=Quantity(0))
    rig.execution.cancel(working.client_order_id)
    with pytest.raises(OrderRejected):
        rig.execution.replace(working.client_order_id, limit_price=Price("91.00"))


def test_a_429_burst_never_makes_the_adapter_sleep_and_costs_less_than_a_bar(rig: Venue) -> None:
    handle = driver_of(rig).handle
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, wait_seconds=5.0)
    handle.rate_limit(2)
    sent = send_order(limit_buy(rig, "burst", 2, "90.00"), rig.execution, policy, waits.append)
    assert sent.accepted and sent.attempts == 3
    # one POST per attempt: alpaca-py's own 429 retry (3 s sleeps, resends) is off
    assert [r[2] for r in handle.requests("POST", "/v2/orders")] == [429, 429, 200]
    assert sum(waits) < 60
    handle.rate_limit(10)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="429"):
        rig.execution.submit(limit_buy(rig, "burst-2", 2, "90.00"))
    assert time.monotonic() - started < 2.0  # no 3 s sleep inside the SDK
    handle.rate_limit(0)
    assert handle.created == [sent.order.client_order_id]


def test_a_lost_answer_to_a_submission_is_retried_without_a_second_order(rig: Venue) -> None:
    adapter, handle = adapter_of(rig), driver_of(rig).handle
    handle.refuse_streams(True)  # no trade update tells the adapter either: only Alpaca's 422
    handle.drop_trade_stream()
    wait_for(lambda: not adapter.ready)
    handle.lose_answers(1)
    order = limit_buy(rig, "lost", 3, "90.00")
    sent = send_order(order, rig.execution, RetryPolicy(attempts=3, wait_seconds=0.0), lambda _: None)
    assert sent.accepted and sent.attempts == 2 and sent.ack is not None
    assert [r[2] for r in handle.requests("POST", "/v2/orders")] == [504, 422]  # Alpaca refused the resend
    assert handle.posts == [str(order.client_order_id)] * 2
    assert handle.created == [order.client_order_id]
    assert sent.ack.broker_order_id is not None and sent.ack.status.is_open
    assert handle.requests("GET", "/v2/orders:by_client_order_id")
    handle.refuse_streams(False)
    wait_for(lambda: adapter.ready)


def test_a_dropped_trade_socket_loses_no_fill(rig: Venue) -> None:
    adapter, handle = adapter_of(rig), driver_of(rig).handle
    order = rig.execution.submit(limit_buy(rig, "drop", 5, "99.00"))
    events(rig)
    handle.refuse_streams(True)
    handle.drop_trade_stream()
    wait_for(lambda: not adapter.ready)
    rig.driver.quote(rig.equity, "98.90", "98.95")  # fills while nobody listens
    with pytest.raises(BrokerUnavailable, match="trade stream"):  # the kernel reconciles meanwhile
        rig.execution.poll_events()
    wait_for(lambda: handle.server.trade_refused >= 2)
    handle.refuse_streams(False)
    wait_for(lambda: adapter.ready)
    seen = events(rig)
    (fill,) = [e.fill for e in seen if isinstance(e, OrderFilled)]
    assert fill.client_order_id == order.client_order_id and fill.quantity == Quantity(5)
    assert [e.status for e in seen if isinstance(e, OrderUpdated)] == [OrderStatus.FILLED]
    assert events(rig) == []
    assert adapter.resyncs == 2 and adapter.stream.connects == 2
    waits = adapter.stream.waits
    assert len(waits) >= 2 and max(waits) <= 0.5 and waits[1] > waits[0] / 2  # backs off, bounded


def test_a_trade_stream_that_never_comes_up_fails_start_up_and_leaves_no_thread(rig: Venue) -> None:
    handle = driver_of(rig).handle
    handle.refuse_streams(True)
    settings = AlpacaSettings.from_credentials(
        str(rig.account_id), handle.credentials.alpaca, environ={}, ready_timeout=0.5, backoff_initial=0.05
    )
    threads = threading.active_count()
    adapter = AlpacaExecution(trading_client(settings), settings, rig.account_id, driver_of(rig).clock)
    with pytest.raises(BrokerUnavailable, match=r"not ready within 0\.5 s .*429"):
        adapter.start()
    assert threading.active_count() == threads
    handle.refuse_streams(False)


def test_one_trade_stream_per_account(rig: Venue) -> None:
    handle = driver_of(rig).handle
    assert handle.server.trade_connects == 1 and len(handle.server.trade_sockets) == 1


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(
        SyntheticMarketConfig(seed=3, symbols=("SPY", "QQQ"), start=date(2025, 5, 26), end=date(2025, 6, 3))
    )


def data_port(venue: Venue, **timing: Any) -> AlpacaMarketData:
    driver = driver_of(venue)
    settings = AlpacaSettings.from_credentials(
        "scenario", driver.handle.credentials.alpaca, environ={}, **timing
    )
    return AlpacaMarketData(data_client(settings), settings, driver.clock)


def test_a_silent_data_socket_is_reconnected_and_resubscribed(market: SyntheticMarket) -> None:
    venue = alpaca_venue(market)
    data = data_port(venue, watchdog_seconds=1.0, backoff_initial=0.05, backoff_max=0.2)
    try:
        handle = driver_of(venue).handle
        data.subscribe_quotes([venue.equity.id])
        wait_for(lambda: data.status().connected)
        venue.driver.quote(venue.equity, "500.10", "500.20", size=300)
        venue.driver.settle()
        data.sync()
        quote = data.poll().quotes[-1]
        assert (quote.bid, quote.ask, quote.bid_size) == (Price("500.10"), Price("500.20"), 300.0)
        handle.silence_data()
        venue.driver.quote(venue.equity, "500.30", "500.40")
        wait_for(lambda: data.stream.silences >= 1 and data.status().connected)
        assert data.status().reconnects >= 1 and handle.server.data_connects >= 2
        venue.driver.quote(venue.equity, "500.50", "500.60")
        venue.driver.settle()
        data.sync()
        assert [q.bid for q in data.poll().quotes][-1] == Price("500.50")
        assert data.latest_quote(venue.equity.id) is not None
    finally:
        data.close()
        assert venue.close is not None
        venue.close()


def test_history_follows_every_page(market: SyntheticMarket) -> None:
    venue = alpaca_venue(market)
    data = data_port(venue)
    try:
        handle = driver_of(venue).handle
        handle.server.bars_page = 500
        t0, t1 = datetime(2025, 5, 28, tzinfo=UTC), datetime(2025, 5, 30, tzinfo=UTC)
        frame = data.history(["SPY", "QQQ"], "1m", t0, t1)
        expected = {s: market.bars(s, t0, t1, "1m") for s in ("QQQ", "SPY")}
        assert frame["symbol"].unique().sort().to_list() == ["QQQ", "SPY"]
        for symbol, want in expected.items():
            got = frame.filter(frame["symbol"] == symbol)
            want = want.filter((want["ts"] >= t0) & (want["ts"] < t1))
            assert got.height == want.height > 0
            assert got["close"].to_list() == pytest.approx(want["close"].to_list())
        assert len(handle.requests("GET", "/v2/stocks/bars")) > 1
    finally:
        data.close()
        assert venue.close is not None
        venue.close()


def test_keys_alpaca_refuses_fail_start_up_naming_the_account(rig: Venue, tmp_path: Path) -> None:
    handle = driver_of(rig).handle
    wrong = handle.credentials.model_copy(deep=True)
    wrong.alpaca.api_secret = SecretStr("not-the-secret")
    account = AccountConfig(id="alpaca-paper", broker="alpaca", strategies=["sma_cross"])
    context = BrokerContext(account, wrong, tmp_path, driver_of(rig).clock)
    with pytest.raises(ConfigError, match=r"accounts\.alpaca-paper: Alpaca refused the API keys") as info:
        open_clients(context)
    assert "not-the-secret" not in str(info.value)
