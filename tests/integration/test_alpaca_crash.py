"""Crash recovery with the Alpaca venue: a trader SIGKILLed at seeded points (right after Alpaca
acknowledged a submission, after events were taken but before they were recorded, ...) sends no
order twice and loses no fill (the harness: ``wire_crash``).

The trader (``python -m tests.integration.test_alpaca_crash``) runs alpaca-py's TradingClient
and TradingStream through the Alpaca adapter against the Alpaca simulator of the test process,
which outlives it; a second run recovers (connect, REST sync, reconcile, re-execute every
signal: Alpaca's own ``client_order_id`` check and the ledger find what was already sent).
Then: every order was created once (``POST /v2/orders`` that created an order, per client order
id), the venue holds the orders of an uninterrupted run, and the ledger holds exactly the
venue's orders, fills (by Alpaca's execution ids) and positions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.data import AlpacaMarketData
from adapters.brokers.alpaca.execution import AlpacaExecution
from adapters.brokers.alpaca.rest import data_client, trading_client
from core.clock import SimClock
from core.model import ClientOrderId, Order, OrderStatus
from simulators import alpaca as alpaca_simulator
from simulators.alpaca.payloads import uid
from tests.integration.crash_trader import ACCOUNT, T0, Checkpoints
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
    """Run (or resume) the session of ``seed`` against the Alpaca simulator at ``url``."""
    clock = SimClock(T0)
    credentials = alpaca_simulator.credentials_at(url)
    settings = AlpacaSettings.from_credentials(
        str(ACCOUNT), credentials, environ={}, backoff_initial=0.05, backoff_max=0.5
    )
    adapter = AlpacaExecution(trading_client(settings), settings, ACCOUNT, clock)
    data = AlpacaMarketData(data_client(settings), settings, clock)
    try:
        adapter.start()
        trade_steps(workdir, seed, Checkpoints(crash_after), adapter, data, clock, lambda _: adapter.sync())
    finally:
        data.close()
        adapter.close()


def open_venue() -> WireVenue:
    clock, exchange = open_exchange()
    handle = alpaca_simulator.start(exchange, clock=clock, account_id=ACCOUNT)
    return WireVenue(clock, exchange, handle, ["tests.integration.test_alpaca_crash", handle.base_url])


def venue_orders(venue: WireVenue) -> dict[ClientOrderId, Order]:
    orders: list[Order] = venue.handle.run(lambda: venue.exchange.orders_since(ACCOUNT, LONG_AGO))
    return {o.client_order_id: o for o in orders if o.status is not OrderStatus.REJECTED}


def assert_recovered(venue: WireVenue, workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    created = venue.handle.created
    assert len(created) == len(set(created)), "an order was created twice at Alpaca"
    at_venue = venue_orders(venue)
    assert set(at_venue) == expected == set(created)
    exchange_fills = venue.handle.run(lambda: venue.exchange.fills_since(ACCOUNT, LONG_AGO))
    keys = [fill_key(f, str(f.client_order_id)) for f in exchange_fills]
    fills = assert_ledger_holds(venue, workdir, at_venue, keys)
    assert {str(f.fill_id) for f in fills} == {uid("execution", f.fill_id) for f in exchange_fills}


def test_sigkilled_alpaca_trader_recovers_without_duplicates_or_lost_fills(tmp_path: Path) -> None:
    def expected_of(venue: WireVenue) -> frozenset[ClientOrderId]:
        assert venue.handle.run(lambda: venue.exchange.fills_since(ACCOUNT, LONG_AGO))
        return frozenset(venue_orders(venue))

    kill_and_recover(tmp_path, open_venue, expected_of, assert_recovered)


def main(argv: list[str]) -> int:
    workdir, url, seed = Path(argv[0]), argv[1], int(argv[2])
    crash_after = int(argv[3]) if len(argv) > 3 else None
    trade(workdir, url, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
