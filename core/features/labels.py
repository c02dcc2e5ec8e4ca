"""Training labels: forward return and the triple-barrier label (long side).

Labels look forward by design. Each labelled row records ``label_end_ts`` (triple barrier)
or ``fwd_end_ts`` (forward return): the start of the last bar the label read, so splits can
purge training rows whose label window reaches into a test fold. A label never reads past
the end of its partition: with ``per_session=True`` (the intraday default) that is the
session's last bar, with ``per_session=False`` the symbol's last row.

Triple barrier, for entry at ``close_t`` and ``j = 1..horizon`` bars ahead:

- target ``close_t + up * atr_t`` (``barrier="atr"``) or ``close_t * (1 + up)`` (``"pct"``);
  stop ``close_t - down * atr_t`` or ``close_t * (1 - down)``.
- bar j hits the target if ``high_j >= target``, the stop if ``low_j <= stop``. A bar that
  opens beyond a barrier hits that one first; a bar that touches both from in between counts
  as the stop (the conservative reading of an unknown intrabar path).
- ``label`` = 1 (target first), -1 (stop first), 0 (neither within ``horizon`` bars).
  ``label_return`` is the exit over ``close_t`` minus 1, exiting at the barrier (or at the
  open when the bar gapped through it) or at ``close`` of bar ``horizon`` on a time-out.
  ``label_bars`` is the exit's offset j. Null when the partition ends before a barrier was
  hit and before ``horizon`` bars passed, or when the barrier inputs are null.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import polars as pl

from core.features.indicators import rows_remaining
from core.features.sessions import with_session

__all__ = ["LABEL_COLUMNS", "forward_return", "triple_barrier"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

LABEL_COLUMNS: tuple[str, ...] = ("label", "label_return", "label_bars", "label_end_ts")


def _prepare(frame: pl.LazyFrame, per_session: bool) -> tuple[pl.LazyFrame, list[str]]:
    keys = ["symbol", "session"] if per_session else ["symbol"]
    lf = with_session(frame) if per_session else frame
    lf = lf.sort("symbol", "ts").with_columns(rows_remaining(keys).alias("_rem"))
    return lf, keys


def _forward_lazy(frame: pl.LazyFrame, horizon: int, per_session: bool) -> pl.LazyFrame:
    lf, _ = _prepare(frame, per_session)
    ok = pl.col("_rem") >= horizon
    return lf.with_columns(
        pl.when(ok).then(pl.col("close").shift(-horizon) / pl.col("close") - 1.0).alias("fwd_return"),
        pl.when(ok).then(pl.col("ts").shift(-horizon)).alias("fwd_end_ts"),
    ).drop("_rem")


def forward_return(frame: FrameT, horizon: int, *, per_session: bool = True) -> FrameT:
    """Add ``fwd_return = close_{t+horizon} / close_t - 1`` and ``fwd_end_ts = ts_{t+horizon}``.

    ``horizon`` counts bars (rows) of the same partition; null when fewer remain.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 bar")
    if isinstance(frame, pl.LazyFrame):
        return _forward_lazy(frame, horizon, per_session)
    return _forward_lazy(frame.lazy(), horizon, per_session).collect()


def _at_offset(column: str, offset: pl.Expr, horizon: int) -> pl.Expr:
    """``column`` of the row ``offset`` rows ahead (offset in ``1..horizon`` or null)."""
    return pl.coalesce([pl.when(offset == j).then(pl.col(column).shift(-j)) for j in range(1, horizon + 1)])


def _barrier_lazy(
    frame: pl.LazyFrame, horizon: int, up: float, down: float, barrier: str, atr: str, per_session: bool
) -> pl.LazyFrame:
    lf, _ = _prepare(frame, per_session)
    close = pl.col("close")
    if barrier == "atr":
        target, stop = close + up * pl.col(atr), close - down * pl.col(atr)
    else:
        target, stop = close * (1.0 + up), close * (1.0 - down)
    lf = lf.with_columns(target.alias("_target"), stop.alias("_stop"))
    t, s, rem = pl.col("_target"), pl.col("_stop"), pl.col("_rem")
    up_hits, down_hits = [], []
    for j in range(1, horizon + 1):
        o, h, lo = (pl.col(c).shift(-j) for c in ("open", "high", "low"))
        seen = rem >= j
        up_hits.append(pl.when(seen & (h >= t) & ~(o <= s)).then(j))
        down_hits.append(pl.when(seen & (lo <= s) & ~(o >= t)).then(j))
    lf = lf.with_columns(pl.min_horizontal(up_hits).alias("_up"), pl.min_horizontal(down_hits).alias("_down"))
    first_up, first_down = pl.col("_up"), pl.col("_down")
    stopped = first_down.is_not_null() & (first_up.is_null() | (first_down <= first_up))
    defined = t.is_not_null() & s.is_not_null()
    label = (
        pl.when(~defined)
        .then(None)
        .when(stopped)
        .then(-1)
        .when(first_up.is_not_null())
        .then(1)
        .when(rem >= horizon)
        .then(0)
        .cast(pl.Int8)
    )
    lf = lf.with_columns(label.alias("label"))
    lab = pl.col("label")
    bars = pl.when(lab == 1).then(first_up).when(lab == -1).then(first_down).when(lab == 0).then(horizon)
    lf = lf.with_columns(bars.cast(pl.Int32).alias("label_bars"))
    k = pl.col("label_bars")
    exit_open = _at_offset("open", k, horizon)
    exit_price = (
        pl.when(lab == 1)
        .then(pl.max_horizontal(t, exit_open))
        .when(lab == -1)
        .then(pl.min_horizontal(s, exit_open))
        .when(lab == 0)
        .then(_at_offset("close", k, horizon))
    )
    lf = lf.with_columns(
        (exit_price / close - 1.0).alias("label_return"),
        _at_offset("ts", k, horizon).alias("label_end_ts"),
    )
    return lf.drop("_rem", "_target", "_stop", "_up", "_down")


def triple_barrier(
    frame: FrameT,
    horizon: int,
    *,
    up: float,
    down: float,
    barrier: Literal["atr", "pct"] = "atr",
    atr: str = "atr",
    per_session: bool = True,
) -> FrameT:
    """Add ``label`` (Int8), ``label_return``, ``label_bars`` (Int32) and ``label_end_ts``.

    ``up`` / ``down`` are ATR multiples (``barrier="atr"``, reading column ``atr``) or
    fractions of the entry close (``"pct"``). ``horizon`` is the time limit in bars.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 bar")
    if up <= 0 or down <= 0:
        raise ValueError("barrier multiples must be positive")
    if barrier not in ("atr", "pct"):
        raise ValueError(f"unknown barrier kind {barrier!r}")
    if isinstance(frame, pl.LazyFrame):
        return _barrier_lazy(frame, horizon, up, down, barrier, atr, per_session)
    return _barrier_lazy(frame.lazy(), horizon, up, down, barrier, atr, per_session).collect()
