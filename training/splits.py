"""Walk-forward folds with purging and embargo.

Folds are laid out on a sorted sequence of unique timestamps (session dates or bar
datetimes); ``split_indices`` turns a fold into row positions of a labelled frame:

- test rows: ``test_start <= ts <= test_end``;
- train rows: ``train_start <= ts <= train_end``, outside the test range, minus
  - purged rows, whose label window ``[ts, label_end]`` overlaps the test range (a row with
    an unknown ``label_end`` is purged if it starts before the test range ends), and
  - embargoed rows, that start within ``embargo`` after ``test_end`` (they follow the test
    range, so their features overlap its information).

This works for any layout, including a train range that surrounds the test range
(``purged_kfold_folds``). Fold bounds are inclusive.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["Fold", "purged_kfold_folds", "split_indices", "walk_forward_folds"]

NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class Fold:
    """One split: inclusive train and test ranges (dates or datetimes)."""

    index: int
    train_start: date
    train_end: date
    test_start: date
    test_end: date


def _checked(timestamps: Sequence[date]) -> list[date]:
    points = list(timestamps)
    if any(b <= a for a, b in itertools.pairwise(points)):
        raise ValueError("timestamps must be sorted and unique")
    return points


def walk_forward_folds(
    timestamps: Sequence[date],
    n_folds: int,
    train_size: int,
    test_size: int,
    mode: Literal["rolling", "anchored"] = "rolling",
    embargo: int = 0,
) -> list[Fold]:
    """``n_folds`` consecutive test blocks of ``test_size`` timestamps ending at the last one.

    Each fold trains on the timestamps before its test block, leaving a gap of ``embargo``
    timestamps: ``train_size`` of them (``"rolling"``) or all of them from the first
    timestamp (``"anchored"``, at least ``train_size``). Sizes count timestamps.
    """
    if n_folds < 1 or train_size < 1 or test_size < 1 or embargo < 0:
        raise ValueError("n_folds, train_size and test_size must be >= 1 and embargo >= 0")
    if mode not in ("rolling", "anchored"):
        raise ValueError(f"unknown mode {mode!r}")
    points = _checked(timestamps)
    first_test = len(points) - n_folds * test_size
    if first_test - embargo < train_size:
        raise ValueError(
            f"{len(points)} timestamps cannot hold {n_folds} folds of {test_size} "
            f"after {train_size} train and {embargo} gap timestamps"
        )
    folds = []
    for i in range(n_folds):
        test_lo = first_test + i * test_size
        train_hi = test_lo - embargo - 1
        train_lo = train_hi - train_size + 1 if mode == "rolling" else 0
        folds.append(
            Fold(
                index=i,
                train_start=points[train_lo],
                train_end=points[train_hi],
                test_start=points[test_lo],
                test_end=points[test_lo + test_size - 1],
            )
        )
    return folds


def purged_kfold_folds(timestamps: Sequence[date], n_folds: int) -> list[Fold]:
    """K contiguous test blocks; each trains on everything else (before and after it).

    The train range spans all timestamps; ``split_indices`` removes the test block, purges
    and embargoes. The last block takes the remainder.
    """
    points = _checked(timestamps)
    if n_folds < 2 or len(points) < n_folds:
        raise ValueError("need n_folds >= 2 and at least n_folds timestamps")
    size = len(points) // n_folds
    folds = []
    for i in range(n_folds):
        lo = i * size
        hi = len(points) - 1 if i == n_folds - 1 else lo + size - 1
        folds.append(Fold(i, points[0], points[-1], points[lo], points[hi]))
    return folds


def _column(frame: pl.DataFrame, name: str, as_date: bool) -> pl.Expr:
    col = pl.col(name)
    if as_date and isinstance(frame.schema[name], pl.Datetime):
        # Day-level folds over intraday rows: compare on the row's New York session date.
        if frame.schema[name].time_zone is None:  # type: ignore[attr-defined]
            col = col.dt.replace_time_zone("UTC")
        return col.dt.convert_time_zone(NEW_YORK).dt.date()
    return col


def split_indices(
    frame: pl.DataFrame,
    fold: Fold,
    embargo: timedelta = timedelta(0),
    *,
    ts_col: str = "ts",
    label_end_col: str | None = "label_end_ts",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row positions ``(train, test)`` of ``frame`` for ``fold``, purged and embargoed.

    With date fold bounds and datetime columns the columns are compared as New York dates,
    and ``embargo`` counts calendar days. ``label_end_col=None`` means labels end at ``ts``.
    """
    as_date = not isinstance(fold.test_start, datetime)
    ts = _column(frame, ts_col, as_date)
    end = ts if label_end_col is None else _column(frame, label_end_col, as_date)
    in_test = ts.is_between(pl.lit(fold.test_start), pl.lit(fold.test_end))
    in_train = ts.is_between(pl.lit(fold.train_start), pl.lit(fold.train_end)) & ~in_test
    purged = (ts <= pl.lit(fold.test_end)) & (end.is_null() | (end >= pl.lit(fold.test_start)))
    embargoed = (ts > pl.lit(fold.test_end)) & (ts <= pl.lit(fold.test_end + embargo))
    flags = frame.select(
        (in_train & ~purged & ~embargoed).alias("train"),
        in_test.alias("test"),
    )
    train = np.flatnonzero(flags["train"].to_numpy()).astype(np.int64)
    test = np.flatnonzero(flags["test"].to_numpy()).astype(np.int64)
    return train, test
