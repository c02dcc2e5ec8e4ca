"""SwingTrendFollowing: EMA/ADX rules, ATR stops, model score, live parity."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from core.strategies import STRATEGIES, SwingTrendFollowing


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    config = SyntheticMarketConfig(
        seed=5, symbols=("SYNA", "SYNB"), start=date(2024, 1, 2), end=date(2025, 6, 30), trend_strength=0.8
    )
    return daily_bars(generate_bars(config))


def test_rules(bars: pl.DataFrame) -> None:
    assert "swing_trend_following" in STRATEGIES
    out = SwingTrendFollowing().signals(bars)
    longs, shorts = out.filter("entry_long"), out.filter("entry_short")
    assert longs.height > 0 and shorts.height > 0
    assert (longs["ema_20"] > longs["ema_50"]).all() and (longs["adx"] >= 20).all()
    assert (longs["stop"] < longs["close"]).all() and longs["target"].is_null().all()
    assert (shorts["stop"] > shorts["close"]).all()
    assert not (out["entry_long"] & out["exit_long"]).any()
    warm = out.group_by("symbol").head(SwingTrendFollowing().warmup - 1)
    assert not warm["entry_long"].any()


def test_score_filter(bars: pl.DataFrame) -> None:
    rules = SwingTrendFollowing().signals(bars)
    scored = SwingTrendFollowing(score_threshold=0.1).signals(bars.with_columns(score=pl.lit(0.55)))
    assert not scored["entry_long"].any() and not scored["entry_short"].any()
    strong = SwingTrendFollowing(score_threshold=0.1).signals(bars.with_columns(score=pl.lit(0.7)))
    assert strong["entry_long"].sum() == rules["entry_long"].sum()
    assert not strong["entry_short"].any()


def test_suggest_matches_batch_on_last_row(bars: pl.DataFrame) -> None:
    strategy = SwingTrendFollowing()
    batch = strategy.signals(bars).filter(pl.col("symbol") == "SYNA")
    raw = bars.filter(pl.col("symbol") == "SYNA")
    i = batch.with_row_index("i").filter("entry_long")["i"][-1]
    window = raw.slice(i + 1 - strategy.warmup, strategy.warmup)
    intents = [x for x in strategy.suggest(window) if x.action == "entry"]
    assert [(x.action, x.side) for x in intents] == [("entry", "long")]
    assert intents[0].stop == pytest.approx(batch["stop"][i])
