"""``raydesk data fetch --source alpaca`` fills the parquet store from the Alpaca simulator's
market-data REST API (alpaca-py's StockHistoricalDataClient, every page followed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig
from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from adapters.store import BarStore
from cluster.cli import data_cmd
from core.clock import SimClock
from core.model import AccountId, Money
from simulators import alpaca as alpaca_simulator
from simulators.alpaca import KEY_ID, SECRET_KEY, AlpacaSimulator

pytestmark = pytest.mark.timeout(60)
runner = CliRunner()


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(
        SyntheticMarketConfig(seed=5, symbols=("AAPL", "MSFT"), start=date(2025, 5, 26), end=date(2025, 6, 6))
    )


@pytest.fixture
def simulator(market: SyntheticMarket, monkeypatch: pytest.MonkeyPatch) -> Iterator[AlpacaSimulator]:
    clock = SimClock(datetime(2025, 6, 6, 21, tzinfo=UTC))
    exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE), clock)
    exchange.open_account(AccountId("data"), Money(1))
    handle = alpaca_simulator.start(exchange, clock=clock, account_id=AccountId("data"), market=market)
    handle.server.bars_page = 700
    monkeypatch.setenv("RAYDESK_CREDENTIALS__ALPACA__DATA_URL", handle.base_url)
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET_KEY)
    yield handle
    handle.close()


def test_fetch_fills_the_store_with_the_sources_bars(
    simulator: AlpacaSimulator, market: SyntheticMarket, tmp_path: Path
) -> None:
    args = [
        "fetch",
        "--source",
        "alpaca",
        "--symbols",
        "aapl,MSFT",
        "--start",
        "2025-05-27",
        "--end",
        "2025-06-04",
    ]
    args += ["--data-dir", str(tmp_path)]
    result = runner.invoke(data_cmd.app, args)
    assert result.exit_code == 0, result.output
    assert "bars of AAPL, MSFT" in result.output
    store = BarStore(tmp_path)
    t0, t1 = datetime(2025, 5, 27, tzinfo=UTC), datetime(2025, 6, 4, tzinfo=UTC)
    for symbol in ("AAPL", "MSFT"):
        stored = store.read("1m", [symbol])
        source = market.bars(symbol, t0, t1, "1m")
        source = source.filter((source["ts"] >= t0) & (source["ts"] < t1))
        assert stored.height == source.height > 390
        assert stored["ts"].to_list() == source["ts"].to_list()
        assert stored["close"].to_list() == pytest.approx(source["close"].to_list(), rel=1e-12)
    assert len(simulator.requests("GET", "/v2/stocks/bars")) > 2  # pages followed
    before = store.read("1m")
    again = runner.invoke(data_cmd.app, args)  # idempotent
    assert again.exit_code == 0 and store.read("1m").equals(before)


def test_fetch_without_keys_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    args = [
        "fetch",
        "--source",
        "alpaca",
        "--symbols",
        "AAPL",
        "--start",
        "2025-05-27",
        "--end",
        "2025-05-28",
    ]
    result = runner.invoke(data_cmd.app, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "APCA_API_KEY_ID" in result.output and "data fetch --source alpaca" in result.output
