"""The account kernel's parts without Ray: the bus, the ledger outbox and its cursor, the
synthetic market behind the ``MarketData`` port, and the options chains read through it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.brokers.sim import SimMarketData
from adapters.ledger import SqliteLedger
from adapters.ledger.cursor import FileCursor
from adapters.market.synthetic import SymbolParams, SyntheticMarket, SyntheticMarketConfig
from adapters.market.synthetic.data import SyntheticMarketData
from adapters.market.synthetic.options import ChainConfig
from adapters.market.synthetic.quotes_bridge import to_option_quote
from core.clock import SimClock
from core.messages import FillsRecorded, LedgerRecorded
from core.model import AccountId, InstrumentId
from core.ports.market_data import MarketData
from core.trading.bus import MessageBus
from core.trading.options import PortChains
from core.trading.outbox import LedgerOutbox

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
ACCOUNT = AccountId("acct")


def _market() -> SyntheticMarket:
    params = SymbolParams("QQQ", base_price=621.0, annual_vol=0.18, spread_bps=1.0, base_volume=50_000.0)
    config = SyntheticMarketConfig(
        symbols=("QQQ",), start=date(2025, 10, 1), end=date(2025, 12, 31), param_overrides={"QQQ": params}
    )
    return SyntheticMarket(config, ChainConfig(strike_steps=((10_000.0, 1.0),)))


def test_the_chain_read_through_the_port_equals_the_synthetic_chain() -> None:
    market = _market()
    data = SyntheticMarketData(market, SimClock(T0))
    assert isinstance(data, MarketData) and isinstance(SimMarketData(), MarketData)
    chain = PortChains(data).option_chain("QQQ", T0)
    direct = [to_option_quote(q) for q in market.option_chain("QQQ", T0)]
    assert chain == direct and len(chain) > 100
    held = [chain[7].contract, chain[3].contract]
    assert [q.contract for q in data.option_quotes(held)] == held, "in the order asked"
    assert data.expirations("QQQ")[0] > T0.date()
    quote = data.latest_quote(InstrumentId("QQQ"))
    assert quote is not None and quote.ts <= T0


def test_the_bus_isolates_subscribers_but_not_critical_ones() -> None:
    bus = MessageBus()
    seen: list[object] = []

    def broken(message: FillsRecorded) -> None:
        raise RuntimeError("metrics down")

    bus.subscribe(FillsRecorded, broken)
    bus.subscribe(FillsRecorded, seen.append)
    message = FillsRecorded(ACCOUNT, ("f1",))
    bus.publish(message)
    assert seen == [message] and bus.errors == 1
    bus.subscribe(FillsRecorded, broken, critical=True)
    with pytest.raises(RuntimeError):
        bus.publish(message)


def test_the_outbox_publishes_each_ledger_event_once_after_its_cursor(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", SimClock(T0))
    try:
        ledger.append_event("fill", {"fill_id": "acct:1"}, ACCOUNT)
        ledger.append_event("trading.alert", {"alert": "x"}, ACCOUNT)
        ledger.append_event("fill", {"fill_id": "other:1"}, AccountId("other"))
        bus = MessageBus()
        recorded: list[LedgerRecorded] = []
        fills: list[FillsRecorded] = []
        bus.subscribe(LedgerRecorded, recorded.append)
        bus.subscribe(FillsRecorded, fills.append)
        cursor = FileCursor(tmp_path / "cursor.json")
        outbox = LedgerOutbox(ACCOUNT, ledger, bus, cursor)
        assert outbox.drain() == 2 and outbox.drain() == 0
        assert [m.kind for m in recorded] == ["fill", "trading.alert"]
        assert fills == [FillsRecorded(ACCOUNT, ("acct:1",))]
        cursor.save()
        ledger.append_event("fill", {"fill_id": "acct:2"}, ACCOUNT)
        again = LedgerOutbox(ACCOUNT, ledger, bus, FileCursor(tmp_path / "cursor.json"))
        assert again.started and again.drain() == 1, "a restart resumes after the saved cursor"
        assert fills[-1].fill_ids == ("acct:2",)
    finally:
        ledger.close()
