"""Crash recovery with the IBKR venue: a trader SIGKILLed at seeded points sends no order twice
and loses no fill (the harness, shared with the other broker simulators: ``wire_crash``).

The venue (a ``SimExchange`` behind the fake TWS) lives in the test process and outlives the
trader; the trader runs in a child process (``python -m tests.integration.test_ibkr_crash``)
with the real ib_async client, the IBKR adapter and a SQLite ledger, and is killed at seeded
checkpoints of ``crash_trader.Checkpoints`` (right after TWS acknowledged a submission, after
events were taken but before they were recorded, ...). A second run of the same trader recovers
(start-up and recovery are one path: connect, match by orderRef/permId, reconcile, re-execute
every signal). Then: one placeOrder per client order id ever reached TWS (no duplicate), the
venue holds the orders of an uninterrupted run, and the ledger holds exactly the venue's fills,
orders and positions.

The market moves only when the trader asks for a step's quotes (a file handshake in the work
folder), so the run is deterministic whatever the process timings.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.data import IbkrMarketData
from adapters.brokers.ibkr.execution import IbkrExecution
from adapters.brokers.ibkr.session import IbSession
from core.clock import SimClock
from core.model import ClientOrderId, Fill
from simulators import ibkr as ibkr_simulator
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

CLIENT_ID = 11

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


# -- the trader (child process) -------------------------------------------------------------------
def trade(workdir: Path, port: int, seed: int, crash_after: int | None) -> None:
    """Run (or resume) the session of ``seed`` against the TWS on ``port``."""
    clock = SimClock(T0)
    settings = IbkrSettings(port=port, client_id=CLIENT_ID, connect_timeout=5.0)
    session = IbSession(settings, clock)
    adapter = IbkrExecution(session, ACCOUNT, clock)
    data = IbkrMarketData(session, clock)
    session.start()
    try:
        data.subscribe_quotes([s.id for s in SYMBOLS])
        trade_steps(workdir, seed, Checkpoints(crash_after), adapter, data, clock, lambda _: adapter.sync())
    finally:
        data.close()
        session.close()


# -- the venue (this process) -------------------------------------------------------------------
def open_venue() -> WireVenue:
    clock, exchange = open_exchange()
    handle = ibkr_simulator.start(exchange, clock=clock, account_id=ACCOUNT)
    return WireVenue(clock, exchange, handle, ["tests.integration.test_ibkr_crash", str(handle.port)])


def venue_orders(venue: WireVenue) -> dict[ClientOrderId, object]:
    return {
        o.client_order_id: o for o in venue.handle.run(lambda: venue.exchange.orders_since(ACCOUNT, LONG_AGO))
    }


def assert_recovered(venue: WireVenue, workdir: Path, expected: frozenset[ClientOrderId]) -> None:
    refs = venue.handle.tws.refs
    assert len(refs) == len(set(refs)), "an order reached TWS twice"
    at_venue = venue.handle.run(
        lambda: {o.client_order_id: o for o in venue.exchange.orders_since(ACCOUNT, LONG_AGO)}
    )
    assert set(at_venue) == expected == {ClientOrderId(r) for r in refs}
    venue_fills = venue.handle.run(lambda: venue.exchange.fills_since(ACCOUNT, LONG_AGO))
    fills = assert_ledger_holds(venue, workdir, at_venue, [_key(f) for f in venue_fills])
    executions = {
        e.exec_id
        for vo in venue.handle.tws.orders.values()
        for e in vo.executions
        if e.contract.sec_type != "BAG"
    }
    assert {str(f.fill_id) for f in fills} == executions, "lost or invented fills"


def _key(fill: Fill) -> tuple[str, str, str, Decimal, Decimal]:
    return fill_key(fill, str(fill.client_order_id))


def test_sigkilled_ibkr_trader_recovers_without_duplicates_or_lost_fills(tmp_path: Path) -> None:
    def expected_of(venue: WireVenue) -> frozenset[ClientOrderId]:
        assert venue.handle.tws.refs
        return frozenset(venue_orders(venue))

    kill_and_recover(tmp_path, open_venue, expected_of, assert_recovered)


def main(argv: list[str]) -> int:
    workdir, port, seed = Path(argv[0]), int(argv[1]), int(argv[2])
    crash_after = int(argv[3]) if len(argv) > 3 else None
    trade(workdir, port, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
