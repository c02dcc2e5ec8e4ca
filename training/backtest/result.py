"""``BacktestResult``: the trades, the per-bar equity curve and the metrics of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from training.backtest.columns import BarColumns
from training.backtest.state import I64, FillRecord, RoundTrips
from training.metrics import BacktestMetrics, ClosedTrade, compute_metrics

_TS = pl.Datetime("us", "UTC")
TRADE_SCHEMA = pl.Schema(
    {
        "symbol": pl.String(),
        "entry_ts": _TS,
        "exit_ts": _TS,
        "side": pl.String(),
        "size": pl.Int64(),
        "entry_price": pl.Float64(),
        "exit_price": pl.Float64(),
        "pnl": pl.Float64(),
        "commission": pl.Float64(),
        "return": pl.Float64(),
        "exit_reason": pl.String(),
    }
)


@dataclass(frozen=True)
class BacktestResult:
    """One run. ``trades`` are closed round trips (``exit_reason``: signal, stop, target, end);
    ``open_trades`` are positions still open at the end, marked at their last close (``exit_ts``
    is that bar; ``pnl`` excludes the exit commission). ``equity`` has one row per timestamp:
    ``ts, equity, cash, gross_exposure, drawdown`` (cash includes short-sale proceeds;
    drawdown is a fraction below the running peak). ``skipped`` counts entries not taken.
    """

    strategy: str
    bankroll: float
    trades: pl.DataFrame
    open_trades: pl.DataFrame
    equity: pl.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        return float(self.equity["equity"][-1])

    @cached_property
    def metrics(self) -> BacktestMetrics:
        """Metrics from ``training.metrics`` over the curve and the closed trades."""
        t = self.trades
        closed = [
            ClosedTrade(pnl=p, entry_ts=a, exit_ts=b, ret=r, notional=s * e)
            for p, a, b, r, s, e in zip(
                t["pnl"], t["entry_ts"], t["exit_ts"], t["return"], t["size"], t["entry_price"], strict=True
            )
        ]
        return compute_metrics(self.equity.select("ts", "equity"), closed)


def _trade_frame(trips: RoundTrips, symbols: list[str]) -> pl.DataFrame:
    if len(trips) == 0:
        return pl.DataFrame(schema=TRADE_SCHEMA)
    size, entry, exit_ = trips.size, trips.entry_price, trips.exit_price
    notional = np.abs(size) * entry
    sign = np.where(size > 0, 1.0, -1.0)
    return pl.DataFrame(
        {
            "symbol": pl.Series(symbols, dtype=pl.String).gather(trips.code),
            "entry_ts": pl.Series(trips.entry_ts).cast(_TS),
            "exit_ts": pl.Series(trips.exit_ts).cast(_TS),
            "side": np.where(size > 0, "long", "short"),
            "size": np.abs(size),
            "entry_price": entry,
            "exit_price": exit_,
            "pnl": size * (exit_ - entry) - trips.commission,
            "commission": trips.commission,
            "return": sign * (exit_ / entry - 1.0) - trips.commission / notional,
            "exit_reason": pl.Series(trips.reason, dtype=pl.String),
        }
    ).cast(TRADE_SCHEMA)


def _ffill_on(
    timeline: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``values`` (at ``ts``) carried forward onto ``timeline`` (NaN before the first)."""
    k = np.searchsorted(ts, timeline, side="right") - 1
    out = values[np.maximum(k, 0)]
    out[k < 0] = np.nan
    return out


def _last_at_or_before(timeline: I64, log_ts: I64) -> I64:
    """For each timestamp, the index of the last log entry at or before it (-1: none)."""
    if log_ts.size and bool(np.all(log_ts[1:] >= log_ts[:-1])):
        # Sorted log (the usual case): scatter each entry onto its timestamp, carry forward.
        at = np.searchsorted(timeline, log_ts)
        last = np.append(at[1:] != at[:-1], True)
        marks = np.zeros(timeline.size, dtype=np.int64)
        marks[at[last]] = np.flatnonzero(last) + 1
        return np.maximum.accumulate(marks) - 1
    return np.searchsorted(log_ts, timeline, side="right") - 1


def build_result(cols: BarColumns, fills: FillRecord, bankroll: float, strategy: str) -> BacktestResult:
    """Trades and the per-timestamp equity curve, rebuilt vectorized from the fills."""
    ts, close, codes = cols.ts, cols.close, cols.code
    if len(cols.symbols) == 1:  # its bars are the timeline
        timeline = ts
        # Then a bar's row is its place on the timeline (unless timestamps repeat).
        one_symbol = bool(np.all(ts[1:] > ts[:-1]))
    else:
        one_symbol = False
        timeline = np.sort(ts)
        timeline = timeline[np.append(True, timeline[1:] != timeline[:-1])]  # np.unique hashes: slow
    n = timeline.size
    # Balance after the last fill at or before each timestamp.
    k = _last_at_or_before(timeline, fills.log_ts)
    balances = fills.log_balance
    balance = np.where(k >= 0, balances[np.maximum(k, 0)] if balances.size else bankroll, bankroll)
    unrealized, market_value, gross = np.zeros(n), np.zeros(n), np.zeros(n)
    closed, still_open = fills.closed, fills.still_open
    if len(closed) + len(still_open):
        t_code = np.concatenate((closed.code, still_open.code))
        size = np.concatenate((closed.size, still_open.size)).astype(np.float64)
        entry = np.concatenate((closed.entry_price, still_open.entry_price))
        if one_symbol:
            lo = np.concatenate((closed.entry_row, still_open.entry_row))
            hi = np.concatenate((closed.exit_row, np.full(len(still_open), n)))
        else:
            lo = np.searchsorted(timeline, np.concatenate((closed.entry_ts, still_open.entry_ts)))
            hi = np.searchsorted(timeline, np.concatenate((closed.exit_ts, still_open.exit_ts)))
            hi[len(closed) :] = n
        # Held at the close of every bar from the entry bar up to (not including) the exit bar.
        # One position per symbol at a time, so which trade a symbol holds at each bar is a
        # segment fill: trade ids scattered at entries, removed at exits, summed up.
        size_of = np.concatenate(([0.0], size))
        entry_of = np.concatenate(([0.0], entry))
        for code in np.unique(t_code).tolist():
            mine = np.flatnonzero(t_code == code)
            marks = np.zeros(n + 1, dtype=np.int64)
            np.add.at(marks, lo[mine], mine + 1)
            np.add.at(marks, hi[mine], -(mine + 1))
            held_by = np.cumsum(marks[:n])
            held = held_by > 0
            if one_symbol:
                c = close
            else:
                rows = codes == code
                c = _ffill_on(timeline, ts[rows], close[rows])
            held_size = size_of[held_by]
            unrealized += np.where(held, held_size * (c - entry_of[held_by]), 0.0)
            market_value += np.where(held, held_size * c, 0.0)
            gross += np.where(held, np.abs(held_size) * c, 0.0)
    equity = balance + unrealized
    peak = np.maximum.accumulate(equity)
    curve = pl.DataFrame(
        {
            "ts": pl.Series(timeline).cast(_TS),
            "equity": equity,
            "cash": equity - market_value,
            "gross_exposure": gross,
            "drawdown": np.where(peak > 0, 1.0 - equity / peak, 0.0),
        }
    )
    return BacktestResult(
        strategy=strategy,
        bankroll=bankroll,
        trades=_trade_frame(closed, fills.symbols),
        open_trades=_trade_frame(still_open, fills.symbols),
        equity=curve,
        skipped=dict(fills.skipped),
    )
