"""The demo's options account opens its Trident through the fake Tastytrade with the same legs
and prices as on the simulated venue (no Ray).

The pinned demo market's sessions run twice through ``replay_kernel``: once on ``sim`` (the
exchange's own clients), once as ``raydesk demo --venue tastytrade-sim`` opens it (the durable
exchange served by ``simulators.tastytrade``, traded through the Tastytrade adapter and the real
SDK over loopback). The Trident entries in the two ledgers must agree leg for leg and cent for
cent, and the second venue and ledger must agree with each other.
"""

from __future__ import annotations

from datetime import date
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
from core.model import AccountId, PriceEffect
from core.trading.options import OptionsSpec
from core.trading.outcomes import AccountAudit
from simulators import tastytrade as tastytrade_simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SYMBOLS = ["SYNA", "SYNB"]
Entry = tuple[tuple[tuple[str, str, int], ...], str, str, str]


def _replay(root: Path, venue: str) -> tuple[AccountAudit, list[Entry]]:
    plan = plan_demo(root, SYMBOLS, date(2025, 12, 31), seed=7, accounts=("options",))
    settings = demo_settings(load_settings(), plan)
    generate_market(plan, settings, Console(quiet=True))
    calendar = MarketCalendar()
    sessions = [calendar.previous_session(plan.session), plan.session]
    with EmbeddedRedis(root / "redis.rdb") as redis:
        desk = Supervisor(
            settings,
            plan.state_dir,
            symbols=SYMBOLS,
            accounts=["options"],
            redis_url=redis.url,
            options=OptionsSpec.demo(),
            venue=venue,
        )
        (spec,) = desk.specs()

        def through_the_simulator(clock: Clock) -> BrokerClients:
            return open_broker(spec, clock, serve=tastytrade_simulator.start)

        opener = through_the_simulator if venue != "sim" else None
        audit = replay_kernel(spec, sessions, open_clients=opener)
    ledger = SqliteLedger(spec.ledger_path, SimClock(calendar.session_open_close(plan.session)[1]))
    try:
        orders = ledger.orders(AccountId(spec.account.id))
    finally:
        ledger.close()
    entries = [
        (
            tuple((str(g.instrument.id), g.side.value, g.ratio) for g in o.legs),
            str(o.quantity.value),
            str(o.limit_price.value if o.limit_price else None),
            o.status.value,
        )
        for o in orders
        if o.is_multi_leg and o.price_effect is PriceEffect.CREDIT
    ]
    return audit, sorted(entries)


def test_the_options_account_opens_the_same_trident_through_the_fake_tastytrade(tmp_path: Path) -> None:
    _, on_sim = _replay(tmp_path / "sim", "sim")
    audit, on_tastytrade = _replay(tmp_path / "tastytrade", "tastytrade-sim")
    assert on_sim, "the demo's options account opened no Trident on the simulated venue"
    assert on_tastytrade == on_sim
    assert len(on_sim[0][0]) == 4  # two put spreads and a call spread as one order
    assert audit.venue_orders and audit.lost_fills == [] and audit.unknown_orders == []
    assert audit.open_discrepancies == 0
