"""Intraday indicators against straightforward per-session numpy/python references."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from core.features import INTRADAY_FEATURES, intraday_features
from core.features.sessions import session_expr, with_session_and_hours, with_session_hours
from tests.unit.test_features_data import minute_bars

TOL = 1e-9


@pytest.fixture(scope="module")
def bars() -> pl.DataFrame:
    # Includes the 2024-11-29 early close (210 bars) and the Thanksgiving holiday gap.
    return minute_bars(["AAA", "BBB"], date(2024, 11, 26), date(2024, 12, 2), seed=3)


@pytest.fixture(scope="module")
def feats(bars: pl.DataFrame) -> pl.DataFrame:
    return intraday_features(bars)


def ref_zscore(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for t in range(n - 1, len(x)):
        w = x[t - n + 1 : t + 1]
        out[t] = (x[t] - w.mean()) / w.std(ddof=1)
    return out


def ref_wilder(x: list[float], n: int, first: int) -> np.ndarray:
    """Textbook Wilder: SMA of the first n values from ``first``, then recursive."""
    out = np.full(len(x), np.nan)
    seed = first + n - 1
    if seed >= len(x):
        return out
    avg = sum(x[first : seed + 1]) / n
    out[seed] = avg
    for t in range(seed + 1, len(x)):
        avg = (avg * (n - 1) + x[t]) / n
        out[t] = avg
    return out


def ref_rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    diffs = [0.0, *np.diff(close).tolist()]
    gains = ref_wilder([max(d, 0.0) for d in diffs], n, 1)
    losses = ref_wilder([max(-d, 0.0) for d in diffs], n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rs = gains / losses
        rsi = 100.0 - 100.0 / (1.0 + rs)
    return np.where(losses == 0.0, np.where(gains == 0.0, 50.0, 100.0), rsi)


def ref_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    tr = [high[0] - low[0]]
    for t in range(1, len(close)):
        tr.append(max(high[t], close[t - 1]) - min(low[t], close[t - 1]))
    return ref_wilder(tr, n, 0)


def _sessions(feats: pl.DataFrame) -> list[pl.DataFrame]:
    return list(feats.partition_by(["symbol", "session"], maintain_order=True))


def _close(actual: pl.Series, expected: np.ndarray) -> None:
    got = actual.to_numpy().astype(float)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL, equal_nan=True)


def test_zscores_match_reference_per_session(feats: pl.DataFrame) -> None:
    for part in _sessions(feats):
        _close(part["zscore"], ref_zscore(part["close"].to_numpy(), 20))
        _close(part["volume_zscore"], ref_zscore(part["volume"].to_numpy(), 20))


def test_rsi_and_atr_match_textbook_wilder_per_session(feats: pl.DataFrame) -> None:
    for part in _sessions(feats):
        close, high, low = (part[c].to_numpy() for c in ("close", "high", "low"))
        _close(part["rsi"], ref_rsi(close))
        _close(part["atr"], ref_atr(high, low, close))


def test_warm_up_restarts_at_every_session_open(feats: pl.DataFrame) -> None:
    for part in _sessions(feats):
        nulls = {name: part[name].is_null().arg_min() for name in ("zscore", "rsi", "atr", "volume_zscore")}
        assert nulls == {"zscore": 19, "rsi": 14, "atr": 13, "volume_zscore": 19}


def test_no_feature_reads_across_the_overnight_gap(bars: pl.DataFrame, feats: pl.DataFrame) -> None:
    first_day = pl.col("ts") < pl.datetime(2024, 11, 27, time_zone="UTC")
    shocked = bars.with_columns(
        [
            pl.when(first_day).then(pl.col(c) * 3.0).otherwise(pl.col(c)).alias(c)
            for c in ("open", "high", "low", "close")
        ]
    )
    again = intraday_features(shocked).filter(~first_day)
    assert again.select(INTRADAY_FEATURES).equals(feats.filter(~first_day).select(INTRADAY_FEATURES))


def test_rsi_of_a_flat_session_is_50_and_flat_zscore_is_null(bars: pl.DataFrame) -> None:
    flat = bars.filter(pl.col("symbol") == "AAA").head(60)
    flat = flat.with_columns(*[pl.lit(10.0).alias(c) for c in ("open", "high", "low", "close")], volume=5.0)
    out = intraday_features(flat)
    assert out["rsi"].drop_nulls().unique().to_list() == [50.0]
    assert out["zscore"].null_count() == 60
    assert out["atr"].drop_nulls().unique().to_list() == [0.0]


def test_minutes_follow_the_real_session_including_early_close(feats: pl.DataFrame) -> None:
    day = feats.filter((pl.col("symbol") == "AAA") & (pl.col("session") == date(2024, 11, 29)))
    assert day.height == 210
    assert day["minutes_since_open"].to_list() == [float(m) for m in range(210)]
    assert day["minutes_to_close"].to_list() == [float(210 - m) for m in range(210)]
    full = feats.filter((pl.col("symbol") == "AAA") & (pl.col("session") == date(2024, 12, 2)))
    assert (full["minutes_since_open"][-1], full["minutes_to_close"][-1]) == (389.0, 1.0)


def test_spread_and_range(feats: pl.DataFrame) -> None:
    mid = (feats["ask"] + feats["bid"]) / 2
    np.testing.assert_allclose(feats["spread"].to_numpy(), ((feats["ask"] - feats["bid"]) / mid).to_numpy())
    np.testing.assert_allclose(
        feats["range_pct"].to_numpy(), ((feats["high"] - feats["low"]) / feats["close"]).to_numpy()
    )


def test_lazy_and_unsorted_input_give_the_same_rows(bars: pl.DataFrame, feats: pl.DataFrame) -> None:
    shuffled = bars.sample(fraction=1.0, shuffle=True, seed=1)
    lazy = intraday_features(shuffled.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(feats)


def test_the_hourly_session_lookup_equals_the_time_zone_conversion() -> None:
    # Every 7 minutes across both 2024 DST changes, a holiday and a year-end, in UTC.
    stamps = pl.datetime_range(
        datetime(2024, 3, 8, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC), "7m", time_zone="UTC", eager=True
    )
    frame = pl.DataFrame({"ts": stamps}).lazy()
    fast = with_session_and_hours(frame).collect()
    slow = with_session_hours(frame.with_columns(session_expr())).collect()
    assert fast.equals(slow.select(fast.columns))
    assert fast["session_open"].null_count() > 0  # weekends and holidays have no hours
