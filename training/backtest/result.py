"""``BacktestResult``: the trades, the per-bar equity curve and the metrics of one run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from training.backtest.state import Ledger, Trade
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


def _trade_frame(trades: list[Trade], symbols: list[str]) -> pl.DataFrame:
    if not trades:
        return pl.DataFrame(schema=TRADE_SCHEMA)
    return (
        pl.DataFrame(
            {
                "symbol": [symbols[t.code] for t in trades],
                "entry_ts": [t.entry_ts for t in trades],
                "exit_ts": [t.exit_ts for t in trades],
                "side": ["long" if t.size > 0 else "short" for t in trades],
                "size": [abs(t.size) for t in trades],
                "entry_price": [t.entry_price for t in trades],
                "exit_price": [t.exit_price for t in trades],
                "pnl": [t.pnl for t in trades],
                "commission": [t.commission for t in trades],
                "return": [t.ret for t in trades],
                "exit_reason": [t.reason for t in trades],
            },
            schema_overrides={"entry_ts": pl.Int64, "exit_ts": pl.Int64},
        )
        .with_columns(pl.col("entry_ts", "exit_ts").cast(_TS))
        .cast(TRADE_SCHEMA)
    )


def _ffill_on(
    timeline: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``values`` (at ``ts``) carried forward onto ``timeline`` (NaN before the first)."""
    k = np.searchsorted(ts, timeline, side="right") - 1
    out = values[np.maximum(k, 0)]
    out[k < 0] = np.nan
    return out


def build_result(frame: pl.DataFrame, ledger: Ledger, bankroll: float, strategy: str) -> BacktestResult:
    """Trades and the per-timestamp equity curve, rebuilt vectorized from the ledger."""
    ts = frame["ts"].dt.epoch("us").to_numpy()
    close = frame["close"].to_numpy().astype(np.float64)
    codes = frame["symbol"].rle_id().to_numpy()
    if codes[-1] == 0:  # one symbol: its bars are the timeline
        timeline = ts
    else:
        timeline = np.sort(ts)
        timeline = timeline[np.append(True, timeline[1:] != timeline[:-1])]  # np.unique hashes: slow
    n = timeline.size
    # Balance after the last fill at or before each timestamp.
    k = np.searchsorted(np.asarray(ledger.log_ts, dtype=np.int64), timeline, side="right") - 1
    balances = np.asarray(ledger.log_balance, dtype=np.float64)
    balance = np.where(k >= 0, balances[np.maximum(k, 0)] if balances.size else bankroll, bankroll)
    unrealized, market_value, gross = np.zeros(n), np.zeros(n), np.zeros(n)
    everything = [*ledger.trades, *ledger.open_trades]
    if everything:
        t_code = np.array([t.code for t in everything])
        size = np.array([t.size for t in everything], dtype=np.float64)
        entry = np.array([t.entry_price for t in everything])
        lo = np.searchsorted(timeline, np.array([t.entry_ts for t in everything]))
        # Held at the close of every bar from the entry bar up to (not including) the exit bar.
        hi = np.searchsorted(timeline, np.array([t.exit_ts for t in everything]))
        hi[np.array([t.reason == "open" for t in everything])] = n
        for code in np.unique(t_code).tolist():
            mine = np.flatnonzero(t_code == code)
            # One position per symbol at a time, so the trade held at each bar is a segment fill.
            marks = np.zeros(n + 1, dtype=np.int64)
            np.add.at(marks, lo[mine], mine + 1)
            np.add.at(marks, hi[mine], -(mine + 1))
            held_by = np.cumsum(marks[:n])
            bars_held = np.flatnonzero(held_by)
            k = held_by[bars_held] - 1
            rows = codes == code
            c = _ffill_on(timeline, ts[rows], close[rows])[bars_held]
            unrealized[bars_held] += size[k] * (c - entry[k])
            market_value[bars_held] += size[k] * c
            gross[bars_held] += np.abs(size[k]) * c
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
        trades=_trade_frame(ledger.trades, ledger.symbols),
        open_trades=_trade_frame(ledger.open_trades, ledger.symbols),
        equity=curve,
        skipped=dict(ledger.skipped),
    )
