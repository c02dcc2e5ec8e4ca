"""Forward return and triple-barrier labels: hand-made cases and a python reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.features import intraday_features
from core.features.labels import forward_return, triple_barrier
from tests.unit.test_features_data import BAR_SCHEMA, minute_bars

T0 = datetime(2024, 12, 2, 14, 30, tzinfo=UTC)


def bars(
    closes: list[float],
    highs: list[float] | None = None,
    lows: list[float] | None = None,
    opens: list[float] | None = None,
) -> pl.DataFrame:
    n = len(closes)
    return pl.DataFrame(
        {
            "symbol": ["X"] * n,
            "ts": [T0 + timedelta(minutes=i) for i in range(n)],
            "open": opens or closes,
            "high": highs or closes,
            "low": lows or closes,
            "close": closes,
            "volume": [1.0] * n,
            "bid": closes,
            "ask": closes,
        },
        schema=BAR_SCHEMA,
    )


def label_of(
    frame: pl.DataFrame, horizon: int = 3, up: float = 0.02, down: float = 0.01
) -> dict[str, object]:
    out = triple_barrier(frame, horizon, up=up, down=down, barrier="pct")
    return out.row(0, named=True)


def test_target_first() -> None:
    row = label_of(bars([100, 101, 102.5, 90], opens=[100, 100.5, 101.5, 95]))
    assert (row["label"], row["label_bars"], row["label_end_ts"]) == (1, 2, T0 + timedelta(minutes=2))
    assert row["label_return"] == pytest.approx(0.02)


def test_stop_first_and_gap_through_the_stop_exits_at_the_open() -> None:
    row = label_of(bars([100, 100.5, 97, 110], opens=[100, 100.5, 97.5, 110], lows=[100, 100.5, 96, 110]))
    assert (row["label"], row["label_bars"]) == (-1, 2)
    assert row["label_return"] == pytest.approx(-0.025)


def test_both_barriers_in_one_bar_counts_as_the_stop() -> None:
    row = label_of(bars([100, 100], highs=[100, 103], lows=[100, 98]), horizon=1)
    assert (row["label"], row["label_return"]) == (-1, pytest.approx(-0.01))


def test_open_above_the_target_is_a_target_hit_at_the_open() -> None:
    row = label_of(bars([100, 103], opens=[100, 104], highs=[100, 104], lows=[100, 98]), horizon=1)
    assert (row["label"], row["label_return"]) == (1, pytest.approx(0.04))


def test_time_limit_exits_at_the_close_of_the_last_bar() -> None:
    row = label_of(bars([100, 100.5, 99.5, 100.7, 120]))
    assert (row["label"], row["label_bars"], row["label_return"]) == (0, 3, pytest.approx(0.007))
    assert row["label_end_ts"] == T0 + timedelta(minutes=3)


def test_unfinished_windows_are_null_but_decided_ones_are_kept() -> None:
    out = triple_barrier(bars([100, 100.5, 103, 103.2]), 3, up=0.02, down=0.01, barrier="pct")
    assert out["label"].to_list() == [1, 1, None, None]


def test_labels_stop_at_the_session_end() -> None:
    frame = minute_bars(["AAA"], date(2024, 11, 29), date(2024, 12, 2), seed=4)
    out = triple_barrier(intraday_features(frame), 10, up=50.0, down=50.0)
    day = out.filter(pl.col("session") == date(2024, 11, 29))
    assert day["label"][-11:].to_list() == [0] + [None] * 10
    assert (
        out.filter(pl.col("label_end_ts").is_not_null())
        .select(
            (
                pl.col("label_end_ts").dt.convert_time_zone("America/New_York").dt.date() == pl.col("session")
            ).all()
        )
        .item()
    )
    fwd = forward_return(frame, 5)
    assert fwd.filter(pl.col("ts").dt.date() == date(2024, 11, 29))["fwd_return"].null_count() == 5


def ref_barrier(o, h, lo, c, atr, horizon, up, down):
    out = []
    n = len(c)
    for t in range(n):
        target, stop = c[t] + up * atr[t], c[t] - down * atr[t]
        result = None
        if not np.isnan(atr[t]):
            for j in range(1, horizon + 1):
                if t + j >= n:
                    break
                k = t + j
                if o[k] >= target:
                    result = (1, j, o[k] / c[t] - 1)
                elif o[k] <= stop or lo[k] <= stop:
                    result = (-1, j, min(stop, o[k]) / c[t] - 1)
                elif h[k] >= target:
                    result = (1, j, target / c[t] - 1)
                if result:
                    break
            if result is None and t + horizon < n:
                result = (0, horizon, c[t + horizon] / c[t] - 1)
        out.append(result)
    return out


def test_atr_barrier_matches_python_reference() -> None:
    feats = intraday_features(minute_bars(["AAA", "BBB"], date(2024, 12, 2), date(2024, 12, 3), seed=9))
    out = triple_barrier(feats, 20, up=1.5, down=1.0)
    for part in out.partition_by(["symbol", "session"], maintain_order=True):
        o, h, lo, c, atr = (part[k].to_numpy().astype(float) for k in ("open", "high", "low", "close", "atr"))
        expected = ref_barrier(o, h, lo, c, atr, 20, 1.5, 1.0)
        got = list(zip(part["label"], part["label_bars"], part["label_return"], strict=True))
        for e, g in zip(expected, got, strict=True):
            if e is None:
                assert g == (None, None, None)
            else:
                assert (g[0], g[1]) == (e[0], e[1]) and g[2] == pytest.approx(e[2], rel=1e-12, abs=1e-15)


def test_forward_return() -> None:
    out = forward_return(bars([100, 110, 121, 133.1]), 2, per_session=False)
    assert out["fwd_return"].to_list()[:2] == [pytest.approx(0.21), pytest.approx(0.21)]
    assert out["fwd_return"].to_list()[2:] == [None, None]
    assert out["fwd_end_ts"][0] == T0 + timedelta(minutes=2)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        triple_barrier(bars([1.0, 2.0]), 0, up=1, down=1)
    with pytest.raises(ValueError):
        triple_barrier(bars([1.0, 2.0]), 1, up=-1, down=1)
    with pytest.raises(ValueError):
        forward_return(bars([1.0, 2.0]), 0)
