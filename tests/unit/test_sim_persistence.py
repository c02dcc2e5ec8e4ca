"""Durable venue state: round trips, idempotency across restarts, and SIGKILL at any instant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from core.clock import SimClock
from core.errors import DataError
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    InstrumentId,
    Money,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    Quote,
)

T0 = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
ACCT = AccountId("p")
CONFIG = SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False)
ROOT = Path(__file__).resolve().parents[2]


def quote(bid: str, size: float = 0.0) -> Quote:
    return Quote(InstrumentId("SPY"), Price(bid), Price(Decimal(bid) + Decimal("0.02")), T0, size, size)


def limit(name: str, qty: int, px: str) -> Order:
    return Order.single(
        ClientOrderId(name), ACCT, Equity("SPY"), OrderSide.BUY, qty, T0, OrderType.LIMIT, Price(px)
    )


def test_state_round_trips_through_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "venue.state"
    ex = SimExchange(CONFIG, SimClock(T0), path)
    ex.open_account(ACCT, Money(50_000))
    client = SimExecutionClient(ex, ACCT)
    ex.on_quote(quote("100"))
    client.submit(limit("a", 10, "100.05"))
    client.submit(limit("b", 10, "90"))
    ex.on_quote(quote("100", size=4))

    again = SimExchange.open(path, CONFIG, SimClock(T0))
    assert again.report(ACCT, T0) == ex.report(ACCT, T0)
    assert again.open_orders(ACCT) == ex.open_orders(ACCT)
    # the partially filled order keeps working after the restart
    again.on_quote(quote("100"))
    order = again.get_order(ACCT, ClientOrderId("a"))
    assert order is not None and order.status is OrderStatus.FILLED
    assert [f.fill_id.value for f in again.fills_since(ACCT, T0)] == ["SIM-F00000001", "SIM-F00000002"]


def test_a_batch_of_quotes_matches_like_single_quotes_and_is_saved(tmp_path: Path) -> None:
    def run(path: Path, batched: bool) -> SimExchange:
        ex = SimExchange(CONFIG, SimClock(T0), path)
        ex.open_account(ACCT, Money(50_000))
        client = SimExecutionClient(ex, ACCT)
        ex.on_quote(quote("100"))
        client.submit(limit("a", 10, "100.05"))
        client.submit(limit("b", 10, "99.50"))
        event = [quote("100", size=4), quote("99.40", size=50), quote("101")]
        if batched:
            ex.on_quotes(event)
        else:
            for q in event:
                ex.on_quote(q)
        return ex

    single, batched = run(tmp_path / "single", False), run(tmp_path / "batched", True)
    assert batched.report(ACCT, T0) == single.report(ACCT, T0)
    assert batched.fills_since(ACCT, T0) == single.fills_since(ACCT, T0)
    assert len(batched.fills_since(ACCT, T0)) >= 2
    again = SimExchange.open(tmp_path / "batched", CONFIG, SimClock(T0))  # the batch is on disk
    assert again.report(ACCT, T0) == single.report(ACCT, T0)
    assert again.fills_since(ACCT, T0) == single.fills_since(ACCT, T0)


def test_resubmission_after_a_restart_returns_the_original(tmp_path: Path) -> None:
    path = tmp_path / "venue.state"
    ex = SimExchange(CONFIG, SimClock(T0), path)
    ex.open_account(ACCT, Money(50_000))
    ex.on_quote(quote("100"))
    first = SimExecutionClient(ex, ACCT).submit(limit("once", 1, "90"))
    del ex

    reopened = SimExchange.open(path, CONFIG, SimClock(T0))
    reopened.open_account(ACCT, Money(1))  # a restarted trader opening its account again is a no-op
    client = SimExecutionClient(reopened, ACCT)
    assert client.submit(limit("once", 1, "90")) == first
    assert len(client.open_orders()) == 1
    assert client.balance().cash == Money(50_000)


def test_opening_a_missing_or_corrupt_state_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no simulated exchange state"):
        SimExchange.open(tmp_path / "absent", CONFIG, SimClock(T0))
    bad = tmp_path / "bad.state"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="cannot read"):
        SimExchange.open(bad, CONFIG, SimClock(T0))


_WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal
    from pathlib import Path
    from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
    from core.clock import SimClock
    from core.model import AccountId, ClientOrderId, Equity, InstrumentId, Money, Order, OrderSide, OrderType, Price, Quote

    clock = SimClock(datetime(2025, 6, 2, 14, 0, tzinfo=UTC))
    ex = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock, Path(sys.argv[1]))
    acct = AccountId("p")
    ex.open_account(acct, Money(1_000_000))
    client = SimExecutionClient(ex, acct)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        clock.advance(timedelta(seconds=1))
        bid = Decimal(100) + Decimal(i % 9 - 4) / 10
        ex.on_quote(Quote(InstrumentId("SPY"), Price(bid), Price(bid + Decimal("0.02")), clock.now(), 7.0, 7.0))
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        client.submit(Order.single(ClientOrderId(f"o{i}"), acct, Equity("SPY"), side, 5 + i % 4, clock.now(),
                                   OrderType.LIMIT, Price(bid + (Decimal("0.1") if i % 2 else Decimal("-0.1")))))
        if i % 5 == 0:
            client.cancel(ClientOrderId(f"o{i - 1}")) if client.get_order(ClientOrderId(f"o{i - 1}")).status.is_open else None
    """
)


@pytest.mark.parametrize("delay", [0.15, 0.4])
def test_sigkill_at_any_instant_leaves_a_consistent_venue(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "venue.state"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(path)], stdout=subprocess.PIPE, env=env, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    ex = SimExchange.open(path, CONFIG, SimClock(T0))
    orders = ex.orders_since(ACCT, T0)
    fills = ex.fills_since(ACCT, T0)
    assert len(orders) > 5, "the worker made no progress before it was killed"
    filled: dict[ClientOrderId, Decimal] = defaultdict(Decimal)
    cash, net = Money(1_000_000), Decimal(0)
    for f in fills:
        filled[f.client_order_id] += f.quantity.value
        cash = cash + f.cash_flow
        net += f.side.sign * f.quantity.value
    by_id = {o.client_order_id: o for o in orders}
    assert set(filled) <= set(by_id)
    for cid, order in by_id.items():
        assert order.filled_quantity == Quantity(filled.get(cid, Decimal(0)))
    assert ex.balance(ACCT).cash == cash
    assert sum((p.net for p in ex.positions(ACCT)), Decimal(0)) == net
    assert {o.client_order_id for o in ex.open_orders(ACCT)} == {
        c for c, o in by_id.items() if o.status.is_open
    }
    assert [int(o.broker_order_id.value[4:]) for o in orders] == list(range(1, len(orders) + 1))  # type: ignore[union-attr]
