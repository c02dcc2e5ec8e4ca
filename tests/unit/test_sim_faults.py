"""Fault injection: latency, dropped acknowledgements, forced rejections, disconnects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient, SimFaults
from core.clock import SimClock
from core.errors import BrokerUnavailable, ConfigError
from core.messages import OrderUpdated
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    InstrumentId,
    Money,
    Order,
    OrderSide,
    OrderStatus,
    Price,
    Quote,
)

T0 = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
ACCT = AccountId("f")


def setup(faults: SimFaults):
    ex = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE), SimClock(T0), faults=faults)
    ex.open_account(ACCT, Money(100_000))
    ex.on_quote(quote())
    return ex, SimExecutionClient(ex, ACCT)


def quote() -> Quote:
    return Quote(InstrumentId("SPY"), Price(100), Price("100.05"), T0)


def buy(name: str) -> Order:
    return Order.single(ClientOrderId(name), ACCT, Equity("SPY"), OrderSide.BUY, 1, T0)


def test_latency_holds_the_acknowledgement_and_the_fill_for_n_updates() -> None:
    ex, client = setup(SimFaults(ack_latency=2))
    assert client.submit(buy("slow")).status is OrderStatus.SUBMITTED
    ex.on_quote(quote())
    assert client.get_order(ClientOrderId("slow")).status is OrderStatus.SUBMITTED
    ex.on_quote(quote())  # acknowledged on the 2nd update, too late to fill on it
    order = client.get_order(ClientOrderId("slow"))
    assert order is not None and order.status is OrderStatus.ACCEPTED and order.filled_quantity.is_zero
    ex.on_quote(quote())
    assert client.get_order(ClientOrderId("slow")).status is OrderStatus.FILLED
    updates = [e.status for e in client.poll_events() if isinstance(e, OrderUpdated)]
    assert updates == [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.FILLED]


def test_dropped_ack_means_the_order_went_through_and_a_retry_finds_it() -> None:
    ex, client = setup(SimFaults(drop_next_acks=1))
    with pytest.raises(BrokerUnavailable):
        client.submit(buy("lost-ack"))
    assert [o.client_order_id for o in client.open_orders()] == [ClientOrderId("lost-ack")]
    again = client.submit(buy("lost-ack"))
    assert again.broker_order_id == client.open_orders()[0].broker_order_id
    ex.on_quote(quote())
    assert len(client.fills_since(T0)) == 1


def test_forced_rejection() -> None:
    _, client = setup(SimFaults(reject_next=1, reject_reason="venue halted"))
    rejected = client.submit(buy("r1"))
    assert (rejected.status, rejected.reason) == (OrderStatus.REJECTED, "venue halted")
    assert client.submit(buy("r2")).status is OrderStatus.ACCEPTED


def test_disconnect_refuses_every_call_until_reconnect() -> None:
    faults = SimFaults()
    _, client = setup(faults)
    faults.disconnect()
    for call in (lambda: client.submit(buy("d")), client.open_orders, client.balance, client.poll_events):
        with pytest.raises(BrokerUnavailable):
            call()
    faults.reconnect()
    assert client.submit(buy("d")).status is OrderStatus.ACCEPTED


def test_seeded_random_faults_repeat() -> None:
    def outcomes(seed: int) -> list[str]:
        _, client = setup(SimFaults(seed=seed, reject_rate=0.3, drop_ack_rate=0.3))
        result = []
        for i in range(40):
            try:
                result.append(client.submit(buy(f"o{i}")).status.value)
            except BrokerUnavailable:
                result.append("dropped")
        return result

    first = outcomes(7)
    assert first == outcomes(7)
    assert {"rejected", "dropped", "accepted"} <= set(first)


def test_bad_fault_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="reject_rate"):
        SimFaults(reject_rate=1.5)
