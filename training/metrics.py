"""Backtest performance metrics from an equity curve and the closed trades.

Return-based ratios (Sharpe, Sortino, volatility) use *session* returns: the equity curve, whatever
its bar size, is resampled to the last value of each America/New_York calendar date (one date per
exchange session; pre- and post-market bars fall on the session's date). ``periods_per_year`` is
then inferred from the median gap between session closes: up to 4 days → 252 (daily), up to 10 →
52 (weekly), up to 45 → 12 (monthly), else 1; pass it explicitly to override.

Path-based figures (max drawdown and its duration, exposure) use the curve at full resolution, and
CAGR and turnover use calendar time (365.25-day years). See ``docs/training-gates-registry.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from core.clock import ensure_utc
from core.errors import InvalidValue

__all__ = [
    "BacktestMetrics",
    "ClosedTrade",
    "EquityInput",
    "compute_metrics",
    "infer_periods_per_year",
    "session_returns",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EquityInput = pl.DataFrame | tuple[Sequence[datetime] | npt.NDArray[Any], Sequence[float] | FloatArray]
"""A polars frame with a tz-aware ``ts`` and an ``equity`` column, or ``(timestamps, values)``.

Timestamps as Python datetimes must be timezone-aware; numpy ``datetime64`` values carry no zone
and are read as UTC.
"""

_US_PER_DAY = 86_400 * 1_000_000
_US_PER_YEAR = 365.25 * _US_PER_DAY
_SESSION_TZ = "America/New_York"


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip. ``ret`` is ``pnl / notional`` as a fraction; ``notional`` is the entry value.

    When ``notional`` is omitted it is derived as ``|pnl / ret|`` (and counts as 0 when ``ret`` is 0).
    """

    pnl: float
    entry_ts: datetime
    exit_ts: datetime
    ret: float
    notional: float | None = None

    def __post_init__(self) -> None:
        entry, exit_ = ensure_utc(self.entry_ts), ensure_utc(self.exit_ts)
        if exit_ < entry:
            raise InvalidValue(f"trade exits ({exit_}) before it enters ({entry})")
        if not (math.isfinite(self.pnl) and math.isfinite(self.ret)):
            raise InvalidValue(f"trade pnl and ret must be finite, got {self.pnl!r}, {self.ret!r}")
        object.__setattr__(self, "entry_ts", entry)
        object.__setattr__(self, "exit_ts", exit_)

    @property
    def traded_notional(self) -> float:
        if self.notional is not None:
            return abs(self.notional)
        return abs(self.pnl / self.ret) if self.ret != 0 else 0.0


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    """Performance of one backtest. Undefined ratios are ``nan`` (and ``None`` in ``to_dict``).

    Fractions: ``total_return``, ``cagr``, ``volatility``, ``win_rate``, ``exposure``.
    ``max_drawdown_pct`` is a positive percentage (12.5 means a 12.5 % fall from the peak).
    """

    start: datetime
    end: datetime
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown_pct: float
    max_drawdown_duration: timedelta
    win_rate: float
    profit_factor: float
    n_trades: int
    exposure: float
    turnover: float
    periods_per_year: int
    n_periods: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values: ISO timestamps, the duration in days, non-finite floats as ``None``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if isinstance(value, datetime):
                out[name] = value.isoformat()
            elif isinstance(value, timedelta):
                out[f"{name}_days"] = value.total_seconds() / 86_400
            elif isinstance(value, float):
                out[name] = value if math.isfinite(value) else None
            else:
                out[name] = value
        return out


def compute_metrics(
    equity: EquityInput,
    trades: Sequence[ClosedTrade] = (),
    *,
    periods_per_year: int | None = None,
    risk_free_rate: float = 0.0,
) -> BacktestMetrics:
    """Metrics of a backtest; ``risk_free_rate`` is annual and spread evenly over the periods."""
    ts, values = _curve(equity)
    session_ts, returns = _session_returns(ts, values)
    ppy = periods_per_year if periods_per_year is not None else infer_periods_per_year(session_ts)
    if ppy <= 0:
        raise InvalidValue(f"periods_per_year must be positive, got {ppy}")
    excess = returns - risk_free_rate / ppy
    years = float(ts[-1] - ts[0]) / _US_PER_YEAR
    growth = float(values[-1] / values[0])
    dd_pct, dd_duration = _max_drawdown(ts, values)
    pnls = np.array([t.pnl for t in trades], dtype=np.float64)
    return BacktestMetrics(
        start=_to_datetime(int(ts[0])),
        end=_to_datetime(int(ts[-1])),
        total_return=growth - 1.0,
        cagr=(growth ** (1.0 / years) - 1.0 if growth > 0 else -1.0) if years > 0 else math.nan,
        volatility=_std(returns) * math.sqrt(ppy),
        sharpe=_sharpe(excess) * math.sqrt(ppy),
        sortino=_sortino(excess) * math.sqrt(ppy),
        max_drawdown_pct=dd_pct,
        max_drawdown_duration=dd_duration,
        win_rate=float(np.mean(pnls > 0)) if pnls.size else math.nan,
        profit_factor=_profit_factor(pnls),
        n_trades=len(trades),
        exposure=_exposure(ts, trades),
        turnover=(
            sum(t.traded_notional for t in trades) / float(np.mean(values)) / years if years > 0 else math.nan
        ),
        periods_per_year=ppy,
        n_periods=int(returns.size),
    )


def session_returns(equity: EquityInput) -> FloatArray:
    """Simple returns between consecutive session closes (see the module docstring).

    When the first session holds more than one point, its first value is the base of the first
    return, so the opening session's intraday move is not lost.
    """
    return _session_returns(*_curve(equity))[1]


def infer_periods_per_year(session_ts: IntArray | npt.NDArray[np.datetime64]) -> int:
    """252, 52, 12 or 1 from the median gap between session closes (252 with under two closes)."""
    stamps = np.asarray(session_ts).astype("datetime64[us]").astype(np.int64)
    if stamps.size < 2:
        return 252
    gap_days = float(np.median(np.diff(stamps))) / _US_PER_DAY
    for limit, ppy in ((4, 252), (10, 52), (45, 12)):
        if gap_days <= limit:
            return ppy
    return 1


# -- internals ---------------------------------------------------------------------------------
def _curve(equity: EquityInput) -> tuple[IntArray, FloatArray]:
    """Microsecond UTC timestamps and float values, validated."""
    if isinstance(equity, pl.DataFrame):
        for col in ("ts", "equity"):
            if col not in equity.columns:
                raise InvalidValue(f"equity frame needs a {col!r} column, has {equity.columns}")
        dtype = equity.schema["ts"]
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            raise InvalidValue(f"equity 'ts' must be a timezone-aware Datetime, got {dtype}")
        ts = equity["ts"].dt.convert_time_zone("UTC").dt.cast_time_unit("us").cast(pl.Int64).to_numpy()
        values = equity["equity"].cast(pl.Float64).to_numpy()
    else:
        raw_ts, raw_values = equity
        if isinstance(raw_ts, np.ndarray) and np.issubdtype(raw_ts.dtype, np.datetime64):
            ts = raw_ts.astype("datetime64[us]").astype(np.int64)
        else:
            ts = np.array([_to_us(t) for t in raw_ts], dtype=np.int64)
        values = np.asarray(raw_values, dtype=np.float64)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    if ts.shape != values.shape or ts.ndim != 1:
        raise InvalidValue(f"timestamps {ts.shape} and equity {values.shape} must be 1-d and equal")
    if ts.size < 2:
        raise InvalidValue(f"an equity curve needs at least two points, got {ts.size}")
    if np.any(np.diff(ts) <= 0):
        raise InvalidValue("equity timestamps must be strictly increasing")
    if not np.all(np.isfinite(values)) or values[0] <= 0:
        raise InvalidValue("equity values must be finite and start positive")
    return ts, values


def _to_us(ts: datetime) -> int:
    delta = ensure_utc(ts) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _to_datetime(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _session_returns(ts: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Session close timestamps and the returns between them."""
    days = (
        pl.Series(ts)
        .cast(pl.Datetime("us", "UTC"))
        .dt.convert_time_zone(_SESSION_TZ)
        .dt.date()
        .cast(pl.Int32)
        .to_numpy()
    )
    last = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    closes = values[last]
    series = closes if last[0] == 0 else np.concatenate(([values[0]], closes))
    return ts[last], series[1:] / series[:-1] - 1.0


def _std(x: FloatArray) -> float:
    return float(np.std(x, ddof=1)) if x.size >= 2 else math.nan


def _sharpe(excess: FloatArray) -> float:
    sd = _std(excess)
    return float(np.mean(excess)) / sd if sd > 0 else math.nan


def _sortino(excess: FloatArray) -> float:
    # Downside deviation over all periods (Sortino & Price), not only the losing ones.
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return float(np.mean(excess)) / downside if downside > 0 else math.nan


def _max_drawdown(ts: IntArray, values: FloatArray) -> tuple[float, timedelta]:
    """Deepest fall from a running peak (percent) and the longest peak-to-recovery stretch."""
    peak = np.maximum.accumulate(values)
    underwater = values < peak
    if not underwater.any():
        return 0.0, timedelta(0)
    edges = np.diff(np.concatenate(([0], underwater.astype(np.int8), [0])))
    first_under = np.flatnonzero(edges == 1)
    recovered = np.minimum(np.flatnonzero(edges == -1), ts.size - 1)  # unrecovered: the last point
    longest = int(np.max(ts[recovered] - ts[first_under - 1]))
    return float(np.max(1.0 - values / peak)) * 100.0, timedelta(microseconds=longest)


def _profit_factor(pnls: FloatArray) -> float:
    gross_profit = float(pnls[pnls > 0].sum())
    gross_loss = -float(pnls[pnls < 0].sum())
    if gross_loss > 0:
        return gross_profit / gross_loss
    return math.inf if gross_profit > 0 else math.nan


def _exposure(ts: IntArray, trades: Sequence[ClosedTrade]) -> float:
    """Fraction of the curve's intervals ``[t_i, t_i+1)`` during which a position was open."""
    if not trades:
        return 0.0
    spans = sorted((_to_us(t.entry_ts), _to_us(t.exit_ts)) for t in trades)
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    starts = np.array([m[0] for m in merged], dtype=np.int64)
    ends = np.array([m[1] for m in merged], dtype=np.int64)
    lo, hi = ts[:-1], ts[1:]
    k = np.searchsorted(ends, lo, side="right")  # first position ending after the interval opens
    valid = k < ends.size
    exposed = np.zeros(lo.size, dtype=bool)
    exposed[valid] = starts[k[valid]] < hi[valid]
    return float(exposed.mean())
