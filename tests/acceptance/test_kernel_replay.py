"""The demo's pinned session through each account's kernel in this process (no Ray).

``replay_kernel`` takes the steps the desk's actors take, in the same order, so it must give
exactly the orders, fills and equity pinned for the actors in ``test_demo_session``: one kernel,
whatever runs it. Broker engineers run this path through their simulators.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from adapters.account.replay import replay_kernel
from adapters.account.wiring import open_broker
from adapters.cache import EmbeddedRedis
from cluster.demo import demo_settings, plan_demo
from cluster.demo_steps import generate_market
from cluster.supervisor import Supervisor
from configs import load_settings
from core.calendar import MarketCalendar
from core.trading.options import OptionsSpec
from tests.acceptance.test_demo_session import ACCOUNTS, PINNED, SYMBOLS


@pytest.mark.slow
def test_the_kernel_replayed_in_process_gives_the_pinned_demo(tmp_path: Path) -> None:
    plan = plan_demo(tmp_path, SYMBOLS, date(2025, 12, 31), seed=7, accounts=ACCOUNTS)
    settings = demo_settings(load_settings(), plan)
    generate_market(plan, settings, Console(quiet=True))
    before = MarketCalendar().previous_session(plan.session)
    outcome: dict[str, tuple[int, int, float]] = {}
    with EmbeddedRedis(tmp_path / "redis.rdb") as redis:
        desk = Supervisor(
            settings,
            plan.state_dir,
            symbols=SYMBOLS,
            accounts=list(ACCOUNTS),
            redis_url=redis.url,
            options=OptionsSpec.demo(),
        )
        for spec in desk.specs():
            days = [before, plan.session] if spec.trades_options else [plan.session]
            audit = replay_kernel(spec, days)
            assert audit.lost_fills == [] and audit.unknown_orders == [], spec.account.id
            equity = round(float(Decimal(audit.equity)), 2)
            outcome[spec.account.id] = (len(audit.venue_orders), len(audit.venue_fills), equity)
    assert outcome == PINNED


@pytest.mark.slow
def test_the_pinned_intraday_session_through_the_fake_tws_gives_the_same_trades(tmp_path: Path) -> None:
    """``--venue ibkr-sim`` in process: the same exchange, fed the same way, served over the TWS
    protocol and traded through the IBKR adapter (ib_async) gives the pinned figures."""
    ibkr_sim = pytest.importorskip("simulators.ibkr")
    plan = plan_demo(tmp_path, SYMBOLS, date(2025, 12, 31), seed=7, accounts=("intraday",))
    settings = demo_settings(load_settings(), plan)
    generate_market(plan, settings, Console(quiet=True))
    with EmbeddedRedis(tmp_path / "redis.rdb") as redis:
        desk = Supervisor(
            settings, plan.state_dir, symbols=SYMBOLS, accounts=["intraday"], redis_url=redis.url
        )
        (spec,) = [replace(s, venue="ibkr-sim") for s in desk.specs()]
        audit = replay_kernel(spec, [plan.session], lambda clock: open_broker(spec, clock, ibkr_sim.start))
    assert audit.lost_fills == [] and audit.unknown_orders == []
    equity = round(float(Decimal(audit.equity)), 2)
    assert (len(audit.venue_orders), len(audit.venue_fills), equity) == PINNED["intraday"]
