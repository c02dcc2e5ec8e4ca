"""Market context from stored daily bars: the production provider of the snapshots' market fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from adapters.store import BarStore
from adapters.store.market_context import stored_market_context
from core.learning.context import index_state, vol_regime

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
