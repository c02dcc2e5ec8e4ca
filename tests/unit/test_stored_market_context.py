"""Market context from stored daily bars: the production provider of the snapshots' market fields."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from adapters.store import BarStore
from adapters.store.market_context import (
    SYMBOL_METADATA,
    read_sectors,
    snapshot_context,
    stored_market_context,
    stored_technicals,
)
from configs.components import DataConfig
from core.learning import stats
from core.learning.context import index_state, vol_regime
from core.learning.technicals import technicals_of
from core.ports.ledger import SnapshotKind
from tests.unit.test_learning_support import ACCT, Desk, open_equity

DAY = dt.date(2025, 6, 5)  # a Thursday
NOON = dt.datetime(2025, 6, 5, 16, 0, tzinfo=dt.UTC)
AFTER_CLOSE = dt.datetime(2025, 6, 5, 20, 30, tzinfo=dt.UTC)


def store_with_history(tmp_path: Path) -> tuple[BarStore, SyntheticMarket]:
    market = SyntheticMarket(SyntheticMarketConfig(symbols=("SYNA", "SYNB")))
    store = BarStore(tmp_path)
    end = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)  # bars after the instants checked are stored too
    for symbol in ("SYNA", "SYNB"):
        store.write(market.bars(symbol, end=end, timeframe="1d"), "1d")
    return store, market


def test_context_from_stored_daily_bars_never_reads_ahead(tmp_path: Path) -> None:
    store, market = store_with_history(tmp_path)
    provider = stored_market_context(store, ["SPX", "SYNA", "SYNB"])
    at_noon = provider.market_context(NOON)
    closes = market.bars("SYNA", end=NOON, timeframe="1d").get_column("close").to_list()
    assert [s.symbol for s in at_noon.indices] == ["SYNA", "SYNB"]  # SPX has no bars: skipped
    assert at_noon.primary == index_state("SYNA", closes)
    regime = vol_regime(closes)
    assert (
        regime is not None and (at_noon.realized_vol, at_noon.realized_vol_pct, at_noon.vol_regime) == regime
    )
    after = provider.market_context(AFTER_CLOSE)
    assert after.primary is not None and at_noon.primary is not None
    today = market.bars("SYNA", end=AFTER_CLOSE, timeframe="1d").get_column("close").to_list()[-1]
    assert after.primary.level == today != at_noon.primary.level  # the session's bar once it closed


def test_no_index_data_gives_an_empty_context(tmp_path: Path) -> None:
    context = stored_market_context(BarStore(tmp_path), ["SPX"]).market_context(NOON)
    assert context.indices == () and context.vol_regime is None


def test_technicals_of_closes_by_hand() -> None:
    closes = [100.0 + (i % 5) for i in range(60)]
    t = technicals_of(closes, "Energy")
    window = closes[-20:]
    mean = sum(window) / 20
    sd = (sum((c - mean) ** 2 for c in window) / 20) ** 0.5
    assert (t.bb_middle, t.bb_upper, t.bb_lower) == (mean, mean + 2 * sd, mean - 2 * sd)
    assert (t.support, t.resistance, t.sector) == (100.0, 104.0, "Energy")
    assert t.macd is not None and t.macd_signal is not None and t.macd_hist == t.macd - t.macd_signal
    short = technicals_of(closes[:10])
    assert short.macd is None and short.bb_upper is None


def test_stored_technicals_and_sector_file(tmp_path: Path) -> None:
    store, market = store_with_history(tmp_path)
    (tmp_path / SYMBOL_METADATA).write_text(json.dumps({"SYNA": {"sector": "Technology"}, "SYNB": {}}))
    provider = stored_technicals(store, read_sectors(tmp_path / SYMBOL_METADATA))
    closes = market.bars("SYNA", end=NOON, timeframe="1d").get_column("close").to_list()
    assert provider.technicals("SYNA", NOON) == technicals_of(closes, "Technology")
    assert provider.technicals("SPX", NOON).sector is None


def test_entry_snapshot_carries_market_context_technicals_and_sector(tmp_path: Path) -> None:
    store, _ = store_with_history(tmp_path / "data")
    desk = Desk(tmp_path, stored_market_context(store, ["SPX", "SYNA"]))
    desk.service.technicals = stored_technicals(store, {"SYNB": "Health Care"})
    open_equity(desk)
    [entry] = desk.ledger.snapshots(ACCT, SnapshotKind.ENTRY)
    p = entry.payload
    assert p["index_symbol"] == "SYNA" and p["vol_regime"] in ("low", "normal", "high")
    assert p["sector"] == "Health Care" and p["macd"] is not None and p["bb_upper"] > p["bb_lower"]
    assert p["support"] <= p["resistance"]
    coverage = {(c.snapshot.value, c.name): c.coverage for c in stats(desk.ledger).coverage}
    assert coverage[("entry", "index_level")] == coverage[("entry", "sector")] == 1.0
    desk.ledger.close()


def test_snapshot_context_from_data_settings(tmp_path: Path) -> None:
    store_with_history(tmp_path)
    (tmp_path / SYMBOL_METADATA).write_text(json.dumps({"SYNB": {"sector": "Utilities"}}))
    context, technicals = snapshot_context(DataConfig(data_dir=tmp_path))  # default index symbols
    primary = context.market_context(NOON).primary
    assert primary is not None and primary.symbol == "SYNA"  # SPX and QQQ have no stored bars
    assert technicals.technicals("SYNB", NOON).sector == "Utilities"
