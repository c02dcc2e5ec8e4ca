"""The backtest engine: vectorized signals in, an event loop over orders only.

The strategy computes its signal columns once over the whole frame. The engine then visits
only the bars where something can happen: a signal's fill at the next bar's open, and a
protective stop or target (found with one numpy scan per trade). Equity per bar is rebuilt
afterwards from the trades, vectorized. Cost: O(bars) numpy plus O(orders) Python.

Several symbols share one bankroll and ``max_positions``. Fills are processed in timestamp
order; at one timestamp, fills at the open come before intrabar stop/target fills, exits
before entries (so freed cash and slots are reusable at once), and ties are broken by symbol
name. Positions are one per symbol, long or short, never pyramided; an entry on a bar that
also exits the same side is ignored.

Cash follows backtesting.py's ledger, so all-in sizing matches it to the bit: ``balance`` is
cash plus the cost of open positions; commissions leave it at each fill and a closed trade adds
its gross profit. Free cash is ``balance`` minus the cost of open positions (shorts reserve
their full notional: no leverage), and an entry never spends more than the free cash.
"""

from __future__ import annotations

import heapq
import math
import sys
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from core.strategies.base import Strategy, complete_signals
from training.backtest.fills import Commission, RelativeCommission, market_price, protective_exit
from training.backtest.result import BacktestResult, build_result
from training.backtest.state import Ledger, Position, Trade

Sizing = Literal["equal_weight", "all_in"]
# backtesting.py's default order size: "all of the available margin", as a fraction < 1.
_FULL = 1.0 - sys.float_info.epsilon
_OPEN, _INTRABAR = 0, 1
_EXIT, _ENTRY = 0, 1


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """Bankroll, limits, costs and sizing of a backtest.

    ``sizing``: ``"equal_weight"`` spends ``min(free cash, equity / max_positions)`` per
    entry; ``"all_in"`` is backtesting.py's ``buy()`` without a size: the whole free cash,
    ``int(free * (1 - eps) // (price + commission per unit))``. Sizes are whole units.
    ``close_at_end`` closes positions still open at their symbol's last close (with costs);
    otherwise they are reported as open trades, marked to that close, like backtesting.py.
    """

    bankroll: float = 20_000.0
    max_positions: int = 5
    commission: Commission = field(default_factory=RelativeCommission)
    slippage: float = 0.0
    sizing: Sizing = "equal_weight"
    close_at_end: bool = False

    def __post_init__(self) -> None:
        if not (self.bankroll > 0 and math.isfinite(self.bankroll)):
            raise ValueError(f"bankroll must be positive, got {self.bankroll}")
        if self.max_positions < 1:
            raise ValueError(f"max_positions must be at least 1, got {self.max_positions}")
        if self.sizing not in ("equal_weight", "all_in"):
            raise ValueError(f"sizing must be 'equal_weight' or 'all_in', got {self.sizing!r}")
        if not 0 <= self.slippage < 0.1:
            raise ValueError(f"slippage must be in [0, 0.1), got {self.slippage}")


def run_backtest(
    strategy: Strategy, bars: pl.DataFrame, config: BacktestConfig | None = None
) -> BacktestResult:
    """Run ``strategy`` on ``bars`` (bar schema, any symbols)."""
    return simulate(strategy.signals(bars), config or BacktestConfig(), strategy=strategy.name)


def simulate(signals: pl.DataFrame, config: BacktestConfig, strategy: str = "") -> BacktestResult:
    """Run the engine on a frame of bars with signal columns (see ``core.strategies.base``)."""
    frame = complete_signals(signals).sort("symbol", "ts")
    sim = _Simulation(frame, config)
    sim.run()
    return build_result(frame, sim.ledger, config.bankroll, strategy)


class _Simulation:
    """One run: numpy columns of the sorted frame, the orders in fill order, the ledger."""

    def __init__(self, frame: pl.DataFrame, config: BacktestConfig) -> None:
        if frame.height == 0:
            raise ValueError("no bars to backtest")
        self.config = config
        self.ts = frame["ts"].dt.epoch("us").to_numpy()
        self.open, self.high, self.low, self.close = (
            frame[c].to_numpy().astype(np.float64) for c in ("open", "high", "low", "close")
        )
        self.stop = frame["stop"].fill_null(np.nan).to_numpy()
        self.target = frame["target"].fill_null(np.nan).to_numpy()
        self.has_protective = not (np.isnan(self.stop).all() and np.isnan(self.target).all())
        self.flags = {
            c: frame[c].to_numpy() for c in ("entry_long", "exit_long", "entry_short", "exit_short")
        }
        sym = frame["symbol"]
        self.symbols: list[str] = sym.unique(maintain_order=True).to_list()
        lengths = sym.rle().struct.field("len").to_numpy()
        self.ends = np.cumsum(lengths)
        self.starts = self.ends - lengths
        self.code = np.repeat(np.arange(lengths.size), lengths)
        self.end = self.ends[self.code]  # one past the last row of each row's symbol
        self.exit_rows = {
            True: np.flatnonzero(self.flags["exit_long"]),
            False: np.flatnonzero(self.flags["exit_short"]),
        }
        self.ledger = Ledger(balance=config.bankroll, symbols=self.symbols)
        # Protective fills: (ts, phase, kind, code, seq, row, price, reason, position id).
        self.heap: list[tuple[int, int, int, int, int, int, float, str, int]] = []
        self.seq = 0

    def _orders(self) -> tuple[list[int], ...]:
        """Signal orders sorted into fill order: (ts, kind, code, fill row, side) columns.

        ``side`` is, for an exit, 1 (exit long) | 2 (exit short); for an entry, +1 or -1.
        """
        f = self.flags
        has_next = np.append(np.arange(1, self.ts.size) < self.end[:-1], False)
        long_in = f["entry_long"] & ~f["exit_long"]
        short_in = f["entry_short"] & ~f["exit_short"] & ~long_in
        exits = np.flatnonzero((f["exit_long"] | f["exit_short"]) & has_next)
        entries = np.flatnonzero((long_in | short_in) & has_next)
        rows = np.concatenate((exits, entries)) + 1
        kind = np.concatenate((np.full(exits.size, _EXIT), np.full(entries.size, _ENTRY)))
        side = np.concatenate(
            (
                f["exit_long"][exits].astype(np.int64) | (f["exit_short"][exits].astype(np.int64) << 1),
                np.where(long_in[entries], 1, -1),
            )
        )
        ts, code = self.ts[rows], self.code[rows]
        order = np.lexsort((code, kind, ts))
        return tuple(a[order].tolist() for a in (ts, kind, code, rows, side))

    def run(self) -> None:
        heap, positions = self.heap, self.ledger.positions
        for ts, kind, code, row, side in zip(*self._orders(), strict=True):
            while heap and heap[0][:4] <= (ts, _OPEN, kind, code):
                self._protective()
            if kind == _EXIT:
                pos = positions.get(code)
                if pos is not None and side & (1 if pos.size > 0 else 2):
                    price = market_price(float(self.open[row]), pos.size < 0, self.config.slippage)
                    self._close(pos, row, price, "signal")
            elif code not in positions:
                self._entry(code, row, side > 0)
        while heap:
            self._protective()
        self._finish()

    def _push(self, row: int, phase: int, pos_id: int, price: float, reason: str) -> None:
        self.seq += 1
        item = (int(self.ts[row]), phase, _EXIT, int(self.code[row]), self.seq, row, price, reason, pos_id)
        heapq.heappush(self.heap, item)

    def _protective(self) -> None:
        *_, code, _, row, price, reason, pos_id = heapq.heappop(self.heap)
        pos = self.ledger.positions.get(code)
        if pos is not None and pos.id == pos_id:
            self._close(pos, row, price, reason)

    def _entry(self, code: int, row: int, is_long: bool) -> None:
        ledger, cfg = self.ledger, self.config
        if len(ledger.positions) >= cfg.max_positions:
            ledger.skipped["max_positions"] += 1
            return
        raw = float(self.open[row])
        price = market_price(raw, is_long, cfg.slippage)
        size = self._size(self.symbols[code], raw, price, row)
        if size <= 0:
            ledger.skipped["cash"] += 1
            return
        sign = 1 if is_long else -1
        commission = cfg.commission(self.symbols[code], sign * size, price)
        pos = ledger.open(code, row, sign * size, price, commission, int(self.ts[row]))
        if self.has_protective:
            self._schedule_protective(pos, row - 1, row)

    def _size(self, symbol: str, raw: float, price: float, row: int) -> int:
        ledger, cfg = self.ledger, self.config
        free = ledger.free_cash()
        if cfg.sizing == "all_in":
            per_unit = price + cfg.commission(symbol, _FULL, raw) / _FULL
            size = int((free * 1.0 * _FULL) // per_unit)
            # backtesting.py cancels an order it cannot pay for rather than shrinking it.
            return size if size * per_unit <= free else 0
        budget = min(free, self._equity_before(row) / cfg.max_positions)
        size = math.floor(budget / price)
        while size > 0 and size * price + cfg.commission(symbol, size, price) > budget:
            size -= max(1, math.ceil(cfg.commission(symbol, size, price) / price))
        return max(size, 0)

    def _equity_before(self, row: int) -> float:
        """Equity with open positions marked at their last close before this bar."""
        t, equity = self.ts[row], self.ledger.balance
        for pos in self.ledger.positions.values():
            lo, hi = int(self.starts[pos.code]), int(self.ends[pos.code])
            k = lo + int(np.searchsorted(self.ts[lo:hi], t)) - 1
            if k >= lo:
                equity += pos.size * (float(self.close[k]) - pos.entry_price)
        return equity

    def _schedule_protective(self, pos: Position, r: int, row: int) -> None:
        stop, target = float(self.stop[r]), float(self.target[r])
        if math.isnan(stop) and math.isnan(target):
            return
        exits = self.exit_rows[pos.is_long]
        k = int(np.searchsorted(exits, row))
        # The position lives at most until the next exit signal (filled one bar later).
        last = int(exits[k]) if k < len(exits) and exits[k] < self.end[row] else int(self.end[row]) - 1
        s = slice(row, last + 1)
        hit = protective_exit(
            pos.is_long, stop, target, self.open[s], self.high[s], self.low[s], self.config.slippage
        )
        if hit is not None:
            k_rel, price, at_open, reason = hit
            self._push(row + k_rel, _OPEN if at_open else _INTRABAR, pos.id, price, reason)

    def _close(self, pos: Position, row: int, price: float, reason: str) -> None:
        symbol = self.symbols[pos.code]
        commission = self.config.commission(symbol, -pos.size, price)
        self.ledger.close(pos, row, price, commission, reason, int(self.ts[row]))

    def _finish(self) -> None:
        for pos in sorted(self.ledger.positions.values(), key=lambda p: p.code):
            last = int(self.end[pos.entry_row]) - 1
            if self.config.close_at_end:
                price = market_price(float(self.close[last]), not pos.is_long, self.config.slippage)
                self._close(pos, last, price, "end")
            else:
                self.ledger.mark_open(pos, last, int(self.ts[last]), float(self.close[last]))


__all__ = ["BacktestConfig", "Sizing", "Trade", "run_backtest", "simulate"]
