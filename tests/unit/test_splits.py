"""Walk-forward folds, purging and embargo: properties over random layouts."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.splits import Fold, purged_kfold_folds, split_indices, walk_forward_folds

DAY0 = date(2020, 1, 1)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[date], int, int, int, str, int]:
    gaps = draw(st.lists(st.integers(1, 3), min_size=10, max_size=120))
    stamps = [DAY0 + timedelta(days=sum(gaps[:i])) for i in range(len(gaps))]
    n_folds = draw(st.integers(1, 5))
    test_size = draw(st.integers(1, 10))
    embargo = draw(st.integers(0, 3))
    room = len(stamps) - n_folds * test_size - embargo
    if room < 1:
        n_folds, test_size, embargo = 1, 1, 0
        room = len(stamps) - 1
    train_size = draw(st.integers(1, room))
    mode = draw(st.sampled_from(["rolling", "anchored"]))
    return stamps, n_folds, train_size, test_size, mode, embargo


@st.composite
def labelled_rows(draw: st.DrawFn, stamps: list[date]) -> pl.DataFrame:
    n = draw(st.integers(1, 200))
    picks = draw(st.lists(st.integers(0, len(stamps) - 1), min_size=n, max_size=n))
    ahead = draw(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=n, max_size=n))
    ends = [
        None if a is None else stamps[min(p + a, len(stamps) - 1)] for p, a in zip(picks, ahead, strict=True)
    ]
    return pl.DataFrame(
        {"ts": [stamps[p] for p in picks], "label_end_ts": ends},
        schema={"ts": pl.Date, "label_end_ts": pl.Date},
    )


@settings(max_examples=80, deadline=None)
@given(layouts())
def test_fold_layout(layout: tuple[list[date], int, int, int, str, int]) -> None:
    stamps, n_folds, train_size, test_size, mode, embargo = layout
    folds = walk_forward_folds(stamps, n_folds, train_size, test_size, mode, embargo)  # type: ignore[arg-type]
    pos = {d: i for i, d in enumerate(stamps)}
    assert [f.index for f in folds] == list(range(n_folds))
    assert folds[-1].test_end == stamps[-1]
    for f in folds:
        assert pos[f.test_end] - pos[f.test_start] + 1 == test_size
        assert pos[f.test_start] - pos[f.train_end] - 1 == embargo
        if mode == "rolling":
            assert pos[f.train_end] - pos[f.train_start] + 1 == train_size
        else:
            assert f.train_start == stamps[0]
            assert pos[f.train_end] + 1 >= train_size
    for a, b in itertools.pairwise(folds):
        assert pos[b.test_start] == pos[a.test_end] + 1  # ordered, contiguous, no overlap
        assert b.train_end > a.train_end


def _check_split(frame: pl.DataFrame, fold: Fold, embargo: timedelta) -> None:
    train, test = split_indices(frame, fold, embargo)
    ts = frame["ts"].to_list()
    ends = frame["label_end_ts"].to_list()
    assert set(test) == {i for i, t in enumerate(ts) if fold.test_start <= t <= fold.test_end}
    assert not set(train) & set(test)
    expected = set()
    for i, (t, e) in enumerate(zip(ts, ends, strict=True)):
        if not fold.train_start <= t <= fold.train_end or fold.test_start <= t <= fold.test_end:
            continue
        overlaps = t <= fold.test_end and (e is None or e >= fold.test_start)
        embargoed = fold.test_end < t <= fold.test_end + embargo
        if not overlaps and not embargoed:
            expected.add(i)
    assert set(train) == expected
    for i in train:  # the properties themselves, stated directly
        end = ends[i]
        assert ts[i] > fold.test_end or (end is not None and end < fold.test_start)
        assert not fold.test_end < ts[i] <= fold.test_end + embargo
    assert train.dtype == np.int64 and test.dtype == np.int64


@settings(max_examples=40, deadline=None)
@given(st.data(), layouts(), st.integers(0, 5))
def test_walk_forward_purge_and_embargo(
    data: st.DataObject, layout: tuple[list[date], int, int, int, str, int], embargo_days: int
) -> None:
    stamps, n_folds, train_size, test_size, mode, gap = layout
    frame = data.draw(labelled_rows(stamps))
    for fold in walk_forward_folds(stamps, n_folds, train_size, test_size, mode, gap):  # type: ignore[arg-type]
        _check_split(frame, fold, timedelta(days=embargo_days))


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(2, 6), st.integers(0, 5))
def test_kfold_with_training_after_the_test_block(data: st.DataObject, k: int, embargo_days: int) -> None:
    stamps = [DAY0 + timedelta(days=i) for i in range(data.draw(st.integers(k, 60)))]
    frame = data.draw(labelled_rows(stamps))
    folds = purged_kfold_folds(stamps, k)
    assert folds[0].test_start == stamps[0] and folds[-1].test_end == stamps[-1]
    for fold in folds:
        _check_split(frame, fold, timedelta(days=embargo_days))


def test_embargo_drops_rows_right_after_the_test_block() -> None:
    stamps = [DAY0 + timedelta(days=i) for i in range(10)]
    frame = pl.DataFrame({"ts": stamps, "label_end_ts": stamps})
    fold = Fold(0, stamps[0], stamps[-1], stamps[3], stamps[4])
    train, test = split_indices(frame, fold, timedelta(days=2))
    assert test.tolist() == [3, 4]
    assert train.tolist() == [0, 1, 2, 7, 8, 9]


def test_date_folds_over_intraday_rows_compare_new_york_sessions() -> None:
    # 20:30 UTC on 2024-12-02 is still the 2024-12-02 session; 01:00 UTC on 12-03 is 12-02 NY too.
    ts = [
        datetime(2024, 12, 2, 20, 30, tzinfo=UTC),
        datetime(2024, 12, 3, 1, 0, tzinfo=UTC),
        datetime(2024, 12, 3, 15, 0, tzinfo=UTC),
        datetime(2024, 12, 4, 15, 0, tzinfo=UTC),
    ]
    frame = pl.DataFrame({"ts": ts, "label_end_ts": [ts[2], ts[1], ts[2], ts[3]]})
    fold = Fold(0, date(2024, 12, 1), date(2024, 12, 4), date(2024, 12, 3), date(2024, 12, 3))
    train, test = split_indices(frame, fold)
    assert test.tolist() == [2]
    assert train.tolist() == [1, 3]  # row 0's label reaches into 12-03: purged


def test_bad_layouts_are_refused() -> None:
    stamps = [DAY0 + timedelta(days=i) for i in range(10)]
    with pytest.raises(ValueError, match="cannot hold"):
        walk_forward_folds(stamps, 3, 5, 2)
    with pytest.raises(ValueError, match="sorted"):
        walk_forward_folds(list(reversed(stamps)), 1, 2, 2)
    with pytest.raises(ValueError, match="mode"):
        walk_forward_folds(stamps, 1, 2, 2, mode="expanding")  # type: ignore[arg-type]
