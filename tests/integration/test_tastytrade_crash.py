"""Crash recovery with the Tastytrade venue: a trader SIGKILLed at seeded points sends no order
twice and loses no fill (the harness: ``wire_crash``).

The trader (``python -m tests.integration.test_tastytrade_crash``) runs the real ``tastytrade``
SDK and the Tastytrade adapter against the fake Tastytrade of the test process; a second run
recovers (authenticate, reconcile the order history by external identifier, re-execute every
signal: the adapter finds an order already placed). Then: one ``POST /orders`` per client order
id ever reached the API, the venue holds the orders of an uninterrupted run, and the ledger
holds exactly the venue's fills, orders and positions.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.brokers.tastytrade.config import TastytradeSettings
from adapters.brokers.tastytrade.data import TastytradeMarketData
from adapters.brokers.tastytrade.execution import TastytradeExecution
from adapters.brokers.tastytrade.session import TtSession
from core.clock import SimClock
from core.model import ClientOrderId, Order
from simulators import tastytrade as tastytrade_simulator
from simulators.tastytrade import PROVIDER_SECRET, REFRESH_TOKEN
from tests.integration.crash_trader import ACCOUNT, SYMBOLS, T0, Checkpoints
from tests.integration.wire_crash import (
    LONG_AGO,
    WireVenue,
    assert_ledger_holds,
    fill_key,
    kill_and_recover,
    open_exchange,
    trade_steps,
)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def trade(workdir: Path, url: str, seed: int, crash_after: int | None) -> None:
    """Run (or resume) the session of ``seed`` against the fake Tastytrade at ``url``."""
    clock = SimClock(T0)
    settings = TastytradeSettings(
        SecretStr(PROVIDER_SECRET),
        SecretStr(REFRESH_TOKEN),
        api_url=url,
        streamer_url=url.replace("http://", "ws://") + "/alerts",
        stabilise_s=0.0,
        backoff_initial=0.05,
    )
    session = TtSession(settings, clock).start()
    adapter = TastytradeExecution(session, ACCOUNT, clock)
    data = TastytradeMarketData(session, clock)
    try:
        adapter.start()
        data.subscribe_quotes([s.id for s in SYMBOLS])

        def sync(step: int) -> None:
            adapter.sync()
            data.wait_for([s.id for s in SYMBOLS], newer_than=T0 + timedelta(minutes=step, seconds=-1))

        trade_steps(workdir, seed, Checkpoints(crash_after), adapter, data, clock, sync)
    finally:
        data.close()
        session.close()


def open_venue() -> WireVenue:
    clock, exchange = open_exchange()
    handle = tastytrade_simulator.start(exchange, clock=clock, account_id=ACCOUNT)
    return WireVenue(clock, exchange, handle, ["tests.integration.test_tastytrade_crash", handle.url])


def venue_orders(venue: WireVenue) -> dict[ClientOrderId, Order]:
    """The venue's orders by the external identifier they were placed with."""
    fake = venue.handle.fake

    def collect() -> dict[ClientOrderId, Order]:
        out = {}
        for placed in fake.orders.values():
            order = venue.exchange.get_order(ACCOUNT, placed.sim_id)
            assert order is not None and placed.external_identifier
            out[ClientOrderId(placed.external_identifier)] = order
        return out

    result: dict[ClientOrderId, Order] = fake.call(collect)
    return result


def venue_fills(venue: WireVenue) -> list[tuple[str, str, str, Decimal, Decimal]]:
    fake = venue.handle.fake

    def collect() -> list[tuple[str, str, str, Decimal, Decimal]]:
        ext = {p.sim_id: p.external_identifier for p in fake.orders.values()}
        fills = venue.exchange.fills_since(ACCOUNT, LONG_AGO)
        return [fill_key(f, str(ext[f.client_order_id])) for f in fills if f.client_order_id in ext]

    result: list[tuple[str, str, str, Decimal, Decimal]] = fake.call(collect)
    return result


def assert_recovered(venue: WireVenue, workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    refs = venue.handle.fake.call(lambda: list(venue.handle.fake.refs))
    assert len(refs) == len(set(refs)), "an order was placed twice"
    at_venue = venue_orders(venue)
    assert set(at_venue) == expected == {ClientOrderId(r) for r in refs}
    assert_ledger_holds(venue, workdir, at_venue, venue_fills(venue))


def test_sigkilled_tastytrade_trader_recovers_without_duplicates_or_lost_fills(tmp_path: Path) -> None:
    def expected_of(venue: WireVenue) -> frozenset[ClientOrderId]:
        assert venue_fills(venue)
        return frozenset(venue_orders(venue))

    kill_and_recover(tmp_path, open_venue, expected_of, assert_recovered)


def main(argv: list[str]) -> int:
    workdir, url, seed = Path(argv[0]), argv[1], int(argv[2])
    crash_after = int(argv[3]) if len(argv) > 3 else None
    trade(workdir, url, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
