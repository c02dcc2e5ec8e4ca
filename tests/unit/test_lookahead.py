"""No look-ahead, and batch features equal live (rolling-window) features.

Features: after every bar later than t is rescaled at random, no feature of any row with
``ts <= t`` may change. Labels look forward on purpose, so the claim for them is narrower:
a label whose window ended by t (``label_end_ts <= t``, or ``fwd_end_ts <= t``) read only
bars up to t and must not change; rows whose window reaches past t may, and some do. The
label inputs at or before t (the features, e.g. ``atr`` for the barriers) are covered by the
feature check.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from core.features import (
    INTRADAY_FEATURES,
    SWING_FEATURES,
    intraday_features,
    latest_row,
    swing_features,
    warmup_rows,
)
from core.features.labels import LABEL_COLUMNS, forward_return, triple_barrier
from tests.unit.test_features_data import daily_bars, minute_bars

PRICES = ("open", "high", "low", "close", "bid", "ask")


@pytest.fixture(scope="module")
def minutes() -> pl.DataFrame:
    # Three symbols over five sessions, including the 2024-11-29 early close.
    return minute_bars(["AAA", "BBB", "CCC"], date(2024, 11, 26), date(2024, 12, 3), seed=11)


@pytest.fixture(scope="module")
def days() -> pl.DataFrame:
    return daily_bars(["AAA", "BBB"], 420, seed=13)


def _scramble_after(frame: pl.DataFrame, t: datetime, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    price = pl.Series(rng.uniform(0.5, 2.0, frame.height))
    volume = pl.Series(rng.uniform(0.1, 10.0, frame.height))
    after = pl.col("ts") > t
    return frame.with_columns(
        *[pl.when(after).then(pl.col(c) * price).otherwise(pl.col(c)).alias(c) for c in PRICES],
        pl.when(after).then(pl.col("volume") * volume).otherwise(pl.col("volume")).alias("volume"),
    )


def _labels(frame: pl.DataFrame) -> pl.DataFrame:
    feats = intraday_features(frame)
    return forward_return(triple_barrier(feats, 20, up=2.0, down=1.5), 15)


def _cut_points(frame: pl.DataFrame) -> list[datetime]:
    stamps = frame["ts"].unique().sort()
    # Mid-session, the last bar of a session, the first bar of the next, and early in a day.
    picks = [389, 390, 1000, 1205]
    return [stamps[i] for i in picks]


def test_intraday_features_and_labels_never_read_the_future(minutes: pl.DataFrame) -> None:
    base = _labels(minutes)
    for i, t in enumerate(_cut_points(minutes)):
        changed = _labels(_scramble_after(minutes, t, seed=i))
        past = pl.col("ts") <= t
        assert (
            changed.filter(past).select(INTRADAY_FEATURES).equals(base.filter(past).select(INTRADAY_FEATURES))
        )
        done = pl.col("label_end_ts") <= t
        assert changed.filter(done).select(LABEL_COLUMNS).equals(base.filter(done).select(LABEL_COLUMNS))
        assert base.filter(done).height > 0
        fwd_done = pl.col("fwd_end_ts") <= t
        assert changed.filter(fwd_done)["fwd_return"].equals(base.filter(fwd_done)["fwd_return"])
        # The check has teeth: labels whose window reaches past t do move.
        open_window = past & (pl.col("label_end_ts") > t)
        moved = changed.filter(open_window)["label_return"] != base.filter(open_window)["label_return"]
        assert moved.any() or base.filter(open_window).height == 0


def test_swing_features_never_read_the_future(days: pl.DataFrame) -> None:
    base = swing_features(days)
    stamps = days["ts"].unique().sort()
    for i, t in enumerate([stamps[k] for k in (150, 250, 300, 419)]):
        changed = swing_features(_scramble_after(days, t, seed=100 + i))
        past = pl.col("ts") <= t
        assert changed.filter(past).select(SWING_FEATURES).equals(base.filter(past).select(SWING_FEATURES))


def _assert_row_matches(batch: dict[str, float | None], live: dict[str, float]) -> None:
    for name, value in live.items():
        expected = batch[name]
        if expected is None:
            assert np.isnan(value), name
        else:
            assert abs(value - expected) <= 1e-9 * max(1.0, abs(expected)), (name, value, expected)


def test_intraday_batch_equals_live_window(minutes: pl.DataFrame) -> None:
    batch = intraday_features(minutes)
    rng = np.random.default_rng(7)
    window = warmup_rows("intraday")
    for sym in ("AAA", "CCC"):
        rows = minutes.filter(pl.col("symbol") == sym).sort("ts")
        feats = batch.filter(pl.col("symbol") == sym)
        for i in [*sorted(rng.choice(rows.height, 40, replace=False).tolist()), 0, 389, 390, 391]:
            live = latest_row(rows.slice(max(0, i + 1 - window), i + 1 - max(0, i + 1 - window)), "intraday")
            _assert_row_matches(feats.row(i, named=True), live)


def test_swing_batch_equals_live_window(days: pl.DataFrame) -> None:
    batch = swing_features(days)
    window = warmup_rows("swing")
    rows = days.filter(pl.col("symbol") == "BBB").sort("ts")
    feats = batch.filter(pl.col("symbol") == "BBB")
    for i in [*range(150, 420, 9), 419]:
        start = max(0, i + 1 - window)
        live = latest_row(rows.slice(start, i + 1 - start), "swing")
        _assert_row_matches(feats.row(i, named=True), live)
