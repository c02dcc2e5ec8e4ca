"""The backtest engine: vectorized signals in, fills from one of two paths, equity rebuilt.

The strategy computes its signal columns once over the whole frame. One symbol without stops
or targets (the usual parameter-search and benchmark case) takes the vectorised path
(``one_symbol``): numpy pairs entries with exits and a loop of a few float operations per
round trip carries the cash. Everything else runs the event loop here, which visits only the
bars where something can happen: a signal's fill at the next bar's open, and a protective stop
or target (found with one numpy scan per trade). Both give the same fills to the bit (tests
pin it). Equity per bar is rebuilt afterwards from the fills, vectorized. Cost: O(bars) numpy
plus O(orders) Python.

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

import numpy as np
import polars as pl

from core.strategies.base import Strategy, complete_signals
from training.backtest.columns import BarColumns, SignalOrders
from training.backtest.config import BacktestConfig, Sizing, entry_size
from training.backtest.fills import market_price, protective_exit
from training.backtest.one_symbol import one_symbol_fills
from training.backtest.result import BacktestResult, build_result
from training.backtest.state import BacktestBook, FillRecord, OpenLot

_OPEN, _INTRABAR = 0, 1
_EXIT, _ENTRY = 0, 1


def run_backtest(
    strategy: Strategy, bars: pl.DataFrame, config: BacktestConfig | None = None
) -> BacktestResult:
    """Run ``strategy`` on ``bars`` (bar schema, any symbols)."""
    return simulate(strategy.signals(bars), config or BacktestConfig(), strategy=strategy.name)


def simulate(signals: pl.DataFrame, config: BacktestConfig, strategy: str = "") -> BacktestResult:
    """Run the engine on a frame of bars with signal columns (see ``core.strategies.base``)."""
    frame = complete_signals(signals)
    if frame.height == 0:
        raise ValueError("no bars to backtest")
    cols = BarColumns.of(frame)
    if not cols.is_sorted:
        cols = BarColumns.of(frame.sort("symbol", "ts"))
    return build_result(cols, run_fills(cols, config), config.bankroll, strategy)


def run_fills(cols: BarColumns, config: BacktestConfig) -> FillRecord:
    """All fills of a run: the vectorised path where it applies, the event loop otherwise.

    The vectorised path covers one symbol without protective exits on strictly increasing
    timestamps, where no two positions can interact; it gives the event loop's book exactly.
    """
    orders = SignalOrders.of(cols)
    if len(cols.symbols) == 1 and not cols.has_protective and bool(np.all(cols.ts[1:] > cols.ts[:-1])):
        return one_symbol_fills(cols, orders, config)
    return event_fills(cols, orders, config)


def event_fills(cols: BarColumns, orders: SignalOrders, config: BacktestConfig) -> FillRecord:
    """All fills of a run from the event loop over orders (any symbols, protective exits)."""
    sim = _Simulation(cols, config)
    sim.run(orders)
    return sim.book.record()


class _Simulation:
    """One event-loop run: the orders in fill order, the protective-exit heap, the book."""

    def __init__(self, cols: BarColumns, config: BacktestConfig) -> None:
        self.config = config
        self.cols = cols
        self.has_protective = cols.has_protective
        self.exit_rows = {True: np.flatnonzero(cols.exit_long), False: np.flatnonzero(cols.exit_short)}
        self.book = BacktestBook(balance=config.bankroll, symbols=cols.symbols)
        # Protective fills: (ts, phase, kind, code, seq, row, price, reason, lot id).
        self.heap: list[tuple[int, int, int, int, int, int, float, str, int]] = []
        self.seq = 0

    def _sorted(self, orders: SignalOrders) -> tuple[list[int], ...]:
        """Orders sorted into fill order: (ts, kind, code, fill row, side) columns.

        ``side`` is, for an exit, 1 (exit long) | 2 (exit short); for an entry, +1 or -1.
        """
        c, exits, entries = self.cols, orders.exits, orders.entries
        rows = np.concatenate((exits, entries)) + 1
        kind = np.concatenate((np.full(exits.size, _EXIT), np.full(entries.size, _ENTRY)))
        side = np.concatenate(
            (
                c.exit_long[exits].astype(np.int64) | (c.exit_short[exits].astype(np.int64) << 1),
                np.where(orders.entry_is_long, 1, -1),
            )
        )
        ts, code = c.ts[rows], c.code[rows]
        order = np.lexsort((code, kind, ts))
        return tuple(a[order].tolist() for a in (ts, kind, code, rows, side))

    def run(self, orders: SignalOrders) -> None:
        heap, positions = self.heap, self.book.positions
        for ts, kind, code, row, side in zip(*self._sorted(orders), strict=True):
            while heap and heap[0][:4] <= (ts, _OPEN, kind, code):
                self._protective()
            if kind == _EXIT:
                lot = positions.get(code)
                if lot is not None and side & (1 if lot.size > 0 else 2):
                    price = market_price(float(self.cols.open[row]), lot.size < 0, self.config.slippage)
                    self._close(lot, row, price, "signal")
            elif code not in positions:
                self._entry(code, row, side > 0)
        while heap:
            self._protective()
        self._finish()

    def _push(self, row: int, phase: int, lot_id: int, price: float, reason: str) -> None:
        self.seq += 1
        c = self.cols
        item = (int(c.ts[row]), phase, _EXIT, int(c.code[row]), self.seq, row, price, reason, lot_id)
        heapq.heappush(self.heap, item)

    def _protective(self) -> None:
        *_, code, _, row, price, reason, lot_id = heapq.heappop(self.heap)
        lot = self.book.positions.get(code)
        if lot is not None and lot.id == lot_id:
            self._close(lot, row, price, reason)

    def _entry(self, code: int, row: int, is_long: bool) -> None:
        book, cfg = self.book, self.config
        if len(book.positions) >= cfg.max_positions:
            book.skipped["max_positions"] += 1
            return
        raw = float(self.cols.open[row])
        price = market_price(raw, is_long, cfg.slippage)
        symbol = self.cols.symbols[code]
        free = book.free_cash()
        equity = self._equity_before(row) if cfg.sizing == "equal_weight" else free
        size = entry_size(cfg, symbol, raw, price, free, equity)
        if size <= 0:
            book.skipped["cash"] += 1
            return
        sign = 1 if is_long else -1
        commission = cfg.commission(symbol, sign * size, price)
        lot = book.open(code, row, sign * size, price, commission, int(self.cols.ts[row]))
        if self.has_protective:
            self._schedule_protective(lot, row - 1, row)

    def _equity_before(self, row: int) -> float:
        """Equity with open positions marked at their last close before this bar."""
        c = self.cols
        t, equity = c.ts[row], self.book.balance
        for lot in self.book.positions.values():
            lo, hi = int(c.starts[lot.code]), int(c.ends[lot.code])
            k = lo + int(np.searchsorted(c.ts[lo:hi], t)) - 1
            if k >= lo:
                equity += lot.size * (float(c.close[k]) - lot.entry_price)
        return equity

    def _schedule_protective(self, lot: OpenLot, r: int, row: int) -> None:
        c = self.cols
        stop, target = float(c.stop[r]), float(c.target[r])
        if math.isnan(stop) and math.isnan(target):
            return
        exits = self.exit_rows[lot.is_long]
        k = int(np.searchsorted(exits, row))
        # The position lives at most until the next exit signal (filled one bar later).
        last = int(exits[k]) if k < len(exits) and exits[k] < c.end[row] else int(c.end[row]) - 1
        s = slice(row, last + 1)
        hit = protective_exit(lot.is_long, stop, target, c.open[s], c.high[s], c.low[s], self.config.slippage)
        if hit is not None:
            k_rel, price, at_open, reason = hit
            self._push(row + k_rel, _OPEN if at_open else _INTRABAR, lot.id, price, reason)

    def _close(self, lot: OpenLot, row: int, price: float, reason: str) -> None:
        commission = self.config.commission(self.cols.symbols[lot.code], -lot.size, price)
        self.book.close(lot, row, price, commission, reason, int(self.cols.ts[row]))

    def _finish(self) -> None:
        c = self.cols
        for lot in sorted(self.book.positions.values(), key=lambda p: p.code):
            last = int(c.end[lot.entry_row]) - 1
            if self.config.close_at_end:
                price = market_price(float(c.close[last]), not lot.is_long, self.config.slippage)
                self._close(lot, last, price, "end")
            else:
                self.book.mark_open(lot, last, int(c.ts[last]), float(c.close[last]))


__all__ = ["BacktestConfig", "Sizing", "event_fills", "run_backtest", "run_fills", "simulate"]
