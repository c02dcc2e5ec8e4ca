"""The live cycle's fast paths give exactly what the batch code gives (features, signals)."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from core.features import INTRADAY_FEATURES, intraday_features
from core.strategies import (
    Intent,
    IntradayMeanReversion,
    RuleStrategy,
    SmaCross,
    SwingTrendFollowing,
    latest_intents,
    row_intents,
)
from core.trading import RollingBars
from core.trading.features import EventFeatures, latest_features
from core.trading.intraday_row import latest_intraday_rows
from tests.unit.test_trading_support import minutes, session_bars

SYMBOLS = ("SYNA", "SYNB", "SYNC")
TOLERANCE = 1e-9


def _assert_row(live: dict[str, float], batch: dict[str, float | None]) -> None:
    assert tuple(live) == INTRADAY_FEATURES
    for name in INTRADAY_FEATURES:
        expected = batch[name]
        if expected is None or math.isnan(expected):
            assert math.isnan(live[name]), name
        else:
            assert live[name] == pytest.approx(expected, rel=0, abs=TOLERANCE), name


# The previous session first (the window spans the overnight gap); a full day, an early close.
@pytest.mark.parametrize(
    ("prior", "day"), [(date(2025, 10, 31), date(2025, 11, 3)), (date(2025, 11, 26), date(2025, 11, 28))]
)
def test_numpy_latest_row_equals_the_batch_features_on_every_bar(prior: date, day: date) -> None:
    before = session_bars(SYMBOLS, prior, seed=3)
    bars = pl.concat([before, session_bars(SYMBOLS, day, seed=3)]).sort("symbol", "ts")
    batch = intraday_features(bars)
    window = RollingBars(421)
    checked = 0
    for frame in minutes(bars):
        window.append(frame)
        ts = frame["ts"][0]
        expected = batch.filter(pl.col("ts") == ts)
        for row in expected.iter_rows(named=True):
            live = latest_intraday_rows(window, [row["symbol"]]).get(row["symbol"])
            assert live is not None
            _assert_row(live, row)
            checked += 1
    assert checked == bars.height


def test_a_window_with_a_missing_price_falls_back_to_the_expressions() -> None:
    bars = session_bars(("SYNA",)).head(40)
    holed = bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 30).then(None).otherwise(pl.col("close")).alias("close")
    )
    window = RollingBars(421)
    window.append(holed)
    assert "SYNA" not in latest_intraday_rows(window, ["SYNA"])
    rows = latest_features(window, ["SYNA"], "intraday")
    batch = intraday_features(window.frame()).row(-1, named=True)
    _assert_row(rows["SYNA"], batch)
    assert "SYNA" not in latest_intraday_rows(RollingBars(5), ["SYNA"])


def test_signals_on_the_live_tail_equal_the_batch_signals() -> None:
    # The cycle gives a strategy the last ``warmup`` bars of each symbol: on every bar its
    # intents must be those of the batch signals over the whole history.
    strategy = SmaCross()
    bars = session_bars(SYMBOLS)
    batch = strategy.signals(bars.sort("symbol", "ts"))
    window = RollingBars(strategy.warmup + 390)
    seen = 0
    for frame in minutes(bars):
        window.append(frame)
        ts = frame["ts"][0]
        live = strategy.suggest(window.frame(SYMBOLS, last=strategy.warmup))
        expected = latest_intents(batch.filter(pl.col("ts") <= ts))
        assert live == expected
        seen += len(live)
    assert seen > 0


def _decision(intent: Intent) -> tuple[str, object, str, str]:
    return intent.symbol, intent.ts, intent.action, intent.side


def _rule_intents_every_bar(strategy: RuleStrategy, bars: pl.DataFrame, timeframe: str) -> tuple[int, int]:
    """Each bar event: the rules on the latest feature rows give the batch signals' intents."""
    batch = strategy.signals(bars.sort("symbol", "ts"))
    window = RollingBars(strategy.warmup + 10)
    seen = entries = 0
    for frame in minutes(bars):
        window.append(frame)
        ts = frame["ts"][0]
        rows = EventFeatures({timeframe: window}).frame(timeframe, strategy.feature_set, SYMBOLS)
        live = row_intents(strategy.rules(rows))
        expected = latest_intents(batch.filter(pl.col("ts") == ts))
        assert [_decision(i) for i in live] == [_decision(i) for i in expected], ts
        for got, want in zip(live, expected, strict=True):  # the numpy features match to ~1e-14
            for name in ("stop", "target", "confidence"):
                value, expected_value = getattr(got, name), getattr(want, name)
                assert (value is None) == (expected_value is None)
                if expected_value is not None:
                    assert value == pytest.approx(expected_value, rel=0, abs=TOLERANCE)
        seen += len(live)
        entries += sum(i.action == "entry" for i in live)
    return seen, entries


def test_intraday_rules_on_the_latest_rows_equal_the_batch_signals_on_every_bar() -> None:
    # Two sessions, so the window spans the overnight gap where every intraday feature restarts.
    bars = pl.concat([session_bars(SYMBOLS, date(2025, 10, 31)), session_bars(SYMBOLS, date(2025, 11, 3))])
    strategy = IntradayMeanReversion(entry_z=1.5, rsi_low=45, rsi_high=55)
    seen, entries = _rule_intents_every_bar(strategy, bars, "1m")
    assert seen > 50 and entries > 10


def test_swing_rules_on_the_latest_rows_equal_the_batch_signals_on_every_bar() -> None:
    cfg = SyntheticMarketConfig(seed=5, symbols=SYMBOLS, start=date(2024, 6, 3), end=date(2025, 10, 31))
    days = daily_bars(generate_bars(cfg))
    seen, entries = _rule_intents_every_bar(SwingTrendFollowing(adx_min=15), days, "1d")
    assert seen > 20 and entries > 5
