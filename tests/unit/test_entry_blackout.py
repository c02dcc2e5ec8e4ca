"""Earnings blackouts and the universe refresh reach the account kernel's entries (no Ray)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.account.wiring import open_kernel
from adapters.cache import EmbeddedRedis, RedisQuoteCache, client_from_url
from adapters.ledger import SqliteLedger
from adapters.market.session import SessionBars
from adapters.store import BarStore
from adapters.store.earnings import import_earnings
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.earnings import EarningsCalendar
from core.model import AccountId
from core.ports.ledger import SnapshotKind
from core.trading.blackout import EntryBlackout
from tests.unit.test_wiring import SESSION, SYMBOLS, _spec
from tests.unit.test_wiring import data_dir as data_dir  # the module fixture

CAL = MarketCalendar()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis") / "r.rdb") as server:
        yield server.url


def _day(tmp: Path, data_dir: Path, redis_url: str, **kw: Any) -> dict[str, Any]:
    """Replay SESSION through sma_cross on SYNA and SYNB; what the ledger holds."""
    bars = SessionBars(BarStore(data_dir), SESSION, SYMBOLS)
    instants = bars.instants
    quotes = RedisQuoteCache(client_from_url(redis_url), SimClock(instants[0]))
    spec = _spec(tmp, data_dir, redis_url, **kw)
    kernel = open_kernel(spec)
    kernel.start()
    for at in instants:
        event = bars.minute(at)
        assert event is not None
        quotes.put_many(event.quotes)
        kernel.on_bars(event)
    kernel.close()
    with SqliteLedger(spec.ledger_path) as ledger:
        account = AccountId("alpha")
        return {
            "symbols": {o.legs[0].instrument.underlying for o in ledger.orders(account)},
            "denials": [(d.rule, d.reason) for d in ledger.denials(account)],
            "entries": [s.payload for s in ledger.snapshots(account, SnapshotKind.ENTRY)],
        }


def test_blackout_of_a_session_counts_sessions_and_reads_the_universe() -> None:
    earnings = EarningsCalendar.of([("SYNA", date(2024, 12, 2))])  # the Monday after SESSION (Fri)
    universe: list[tuple[str | None, list[str]] | None] = [None]
    gate = EntryBlackout(SYMBOLS, lambda: earnings, 1, CAL, lambda: universe[0])
    assert gate(SESSION) == {"SYNA": "earnings on 2024-12-02 in 1 session(s) (blackout of 1)"}
    assert gate(date(2024, 11, 26)) == {}, "3 sessions before: tradable"
    assert gate.days_to_earnings("SYNA", date(2024, 11, 26)) == 3, "Thanksgiving is no session"
    universe[0] = ("2024-11-27", ["SYNA"])
    assert gate(date(2024, 11, 26)) == {}, "kept for the session it was first asked on"
    assert gate(date(2024, 11, 27)) == {"SYNB": "not in the universe refresh for 2024-11-27"}


def test_a_symbol_in_its_earnings_blackout_gets_no_entry(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    (tmp_path / "e.csv").write_text("symbol,date\nSYNA,2024-12-02\nSYNB,2024-12-31\n")
    import_earnings(tmp_path / "e.csv", data_dir)
    try:
        held = _day(tmp_path / "held", data_dir, redis_url, earnings_blackout_sessions=1)
    finally:
        (data_dir / "earnings" / "earnings.parquet").unlink()
    assert held["symbols"] == {"SYNB"}
    assert held["denials"] and all(rule == "blackout" for rule, _ in held["denials"])
    assert all(
        reason.startswith("SYNA is blacked out: earnings on 2024-12-02") for _, reason in held["denials"]
    )
    assert held["entries"] and {e["days_to_earnings"] for e in held["entries"]} == {21}

    free = _day(tmp_path / "free", data_dir, redis_url)
    assert free["symbols"] == {"SYNA", "SYNB"}, "both symbols trade without a blackout"
    assert not free["denials"]


def test_the_universe_refresh_decides_what_the_account_trades(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    universe = tmp_path / "universe.json"
    universe.write_text(json.dumps({"for_session": SESSION.isoformat(), "symbols": ["SYNA"]}))
    day = _day(tmp_path / "one", data_dir, redis_url, universe_file=universe)
    assert day["symbols"] == {"SYNA"}
    assert {r for _, r in day["denials"]} == {
        f"SYNB is blacked out: not in the universe refresh for {SESSION}"
    }
