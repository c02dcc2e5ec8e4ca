"""IntradayMeanReversion: rules, model score, flat at the close, live parity."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from core.strategies import STRATEGIES, IntradayMeanReversion, Strategy, make_strategy
from core.strategies.base import SIGNAL_COLUMNS


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    config = SyntheticMarketConfig(
        seed=3, symbols=("SYNA", "SYNB"), start=date(2025, 3, 3), end=date(2025, 3, 5)
    )
    return generate_bars(config)


def test_registered_and_a_strategy() -> None:
    assert "intraday_mean_reversion" in STRATEGIES
    strategy = make_strategy("intraday_mean_reversion")
    assert isinstance(strategy, Strategy)
    assert strategy.warmup == 390


def test_rules_fire_both_ways_and_flatten(bars: pl.DataFrame) -> None:
    out = IntradayMeanReversion().signals(bars)
    assert out.height == bars.height
    assert set(SIGNAL_COLUMNS) <= set(out.columns)
    assert out["entry_long"].sum() > 10 and out["entry_short"].sum() > 10
    longs = out.filter("entry_long")
    assert (longs["zscore"] < -2.0).all() and (longs["rsi"] < 35).all()
    assert (longs["stop"] < longs["close"]).all() and (longs["target"] > longs["close"]).all()
    shorts = out.filter("entry_short")
    assert (shorts["stop"] > shorts["close"]).all()
    late = out.filter(pl.col("minutes_to_close") <= 15)
    assert not late["entry_long"].any() and not late["entry_short"].any()
    last = out.filter(pl.col("minutes_to_close") <= 5)
    assert last["exit_long"].all() and last["exit_short"].all()


def test_score_gates_entries_and_sets_confidence(bars: pl.DataFrame) -> None:
    strategy = IntradayMeanReversion(score_threshold=0.05)
    neutral = strategy.signals(bars.with_columns(score=pl.lit(0.5)))
    assert not neutral["entry_long"].any() and not neutral["entry_short"].any()
    missing = strategy.signals(bars.with_columns(score=pl.lit(None, pl.Float64)))
    assert not missing["entry_long"].any()
    bullish = strategy.signals(bars.with_columns(score=pl.lit(0.8)))
    assert bullish["entry_long"].sum() > IntradayMeanReversion().signals(bars)["entry_long"].sum()
    assert not bullish["entry_short"].any()
    assert bullish.filter("entry_long")["confidence"].to_list()[0] == pytest.approx(0.6)


def test_score_fn_sees_features(bars: pl.DataFrame) -> None:
    seen: list[list[str]] = []

    def score_fn(features: pl.DataFrame) -> pl.Series:
        seen.append(features.columns)
        return pl.Series([0.2] * features.height)

    out = IntradayMeanReversion(score_fn=score_fn).signals(bars)
    assert "zscore" in seen[0] and "minutes_to_close" in seen[0]
    assert out["entry_short"].any() and not out["entry_long"].any()


def test_suggest_on_a_rolling_window_matches_the_batch(bars: pl.DataFrame) -> None:
    strategy = IntradayMeanReversion()
    batch = strategy.signals(bars)
    one = batch.filter(pl.col("symbol") == "SYNA")
    rows = one.with_row_index("i").filter(pl.col("entry_long") | pl.col("entry_short"))["i"].to_list()[:5]
    raw = bars.filter(pl.col("symbol") == "SYNA")
    for i in rows:
        window = raw.slice(max(0, i + 1 - strategy.warmup), min(i + 1, strategy.warmup))
        intents = strategy.suggest(window)
        entries = [x for x in intents if x.action == "entry"]
        assert len(entries) == 1
        expected = one.row(i, named=True)
        assert entries[0].side == ("long" if expected["entry_long"] else "short")
        assert entries[0].stop == pytest.approx(expected["stop"])
        assert entries[0].ts == expected["ts"]
