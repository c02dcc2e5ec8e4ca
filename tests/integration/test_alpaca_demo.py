"""The demo's intraday account trades the pinned sessions through the Alpaca simulator with the
same orders and fills as on the simulated venue (no Ray).

The pinned demo market's sessions run twice through ``replay_kernel``: once on ``sim`` (the
exchange's own clients), once as ``raydesk demo --accounts intraday --venue alpaca-sim`` opens
it (the durable exchange served by ``simulators.alpaca``, traded through the Alpaca adapter and
alpaca-py over loopback). Orders and fills must agree one for one (client id, instrument, side,
quantity, price, status; fill times too), and the Alpaca ledger must agree with its venue.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from adapters.account.replay import replay_kernel
from adapters.account.wiring import open_broker
from adapters.brokers.factory import BrokerClients
from adapters.cache import EmbeddedRedis
from adapters.ledger import SqliteLedger
from cluster.demo import demo_settings, plan_demo
from cluster.demo_steps import generate_market
from cluster.supervisor import Supervisor
from configs import load_settings
from core.calendar import MarketCalendar
from core.clock import Clock, SimClock
from core.model import AccountId
from core.trading.outcomes import AccountAudit
from simulators import alpaca as alpaca_simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SYMBOLS = ["SYNA", "SYNB"]
Row = tuple[str, ...]


def _replay(root: Path, venue: str) -> tuple[AccountAudit, list[Row], list[Row]]:
    plan = plan_demo(root, SYMBOLS, date(2025, 12, 31), seed=7, accounts=("intraday",))
    settings = demo_settings(load_settings(), plan)
    generate_market(plan, settings, Console(quiet=True))
    calendar = MarketCalendar()
    sessions = [calendar.previous_session(plan.session), plan.session]
    with EmbeddedRedis(root / "redis.rdb") as redis:
        desk = Supervisor(
            settings, plan.state_dir, symbols=SYMBOLS, accounts=["intraday"], redis_url=redis.url, venue=venue
        )
        (spec,) = desk.specs()

        def through_the_simulator(clock: Clock) -> BrokerClients:
            return open_broker(spec, clock, serve=alpaca_simulator.start)

        audit = replay_kernel(spec, sessions, open_clients=through_the_simulator if venue != "sim" else None)
    ledger = SqliteLedger(spec.ledger_path, SimClock(calendar.session_open_close(plan.session)[1]))
    try:
        account = AccountId(spec.account.id)
        orders = [
            (str(o.client_order_id), str(o.instrument.id), o.side.value, _n(o.quantity.value),
             _n(o.filled_quantity.value), o.status.value)
            for o in ledger.orders(account)
        ]  # fmt: skip
        fills = [
            (str(f.client_order_id), str(f.instrument.id), f.side.value, _n(f.quantity.value),
             _n(f.price.value), f.ts.isoformat())
            for f in ledger.fills(account)
        ]  # fmt: skip
    finally:
        ledger.close()
    return audit, sorted(orders), sorted(fills)


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f")


def test_the_intraday_account_trades_the_same_through_the_alpaca_simulator(tmp_path: Path) -> None:
    _, sim_orders, sim_fills = _replay(tmp_path / "sim", "sim")
    audit, orders, fills = _replay(tmp_path / "alpaca", "alpaca-sim")
    assert sim_fills, "the demo's intraday account traded nothing on the simulated venue"
    assert orders == sim_orders
    assert fills == sim_fills
    assert audit.venue_orders and audit.lost_fills == [] and audit.unknown_orders == []
    assert audit.open_discrepancies == 0
