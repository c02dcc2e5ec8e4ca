"""The vectorised fill path: one symbol, signal orders only (no stops or targets).

With one symbol at most one position is open, so which entry pairs with which exit depends on
the signals alone, except that an entry the cash cannot pay for is skipped. numpy pairs every
entry with the exit that would close it and with the first entry after that exit; a Python
loop then walks this chain, one step per round trip, carrying only the cash balance (each
entry's size depends on the profit of the trade before). Prices, timestamps and the trade
columns are gathered vectorised. Same fills, same floats as the event loop
(``engine.event_book``): the same operations in the same order, elementwise.
"""

from __future__ import annotations

import numpy as np

from training.backtest.columns import BarColumns, SignalOrders
from training.backtest.config import BacktestConfig, entry_size
from training.backtest.fills import market_price, market_prices
from training.backtest.state import F64, I64, FillRecord, RoundTrips


def _first_after(rows: I64, after: I64) -> I64:
    """For each of ``after``, the first of the sorted ``rows`` strictly greater; -1 if none."""
    if rows.size == 0:
        return np.full(after.size, -1, dtype=np.int64)
    k = np.searchsorted(rows, after, side="right")
    return np.where(k < rows.size, rows[np.minimum(k, rows.size - 1)], -1)


def _trips(
    cols: BarColumns, entry: I64, exit_: I64, size: I64, prices: tuple[F64, F64, F64], reason: list[str]
) -> RoundTrips:
    return RoundTrips(
        np.zeros(entry.size, dtype=np.int64),
        entry,
        exit_,
        cols.ts[entry],
        cols.ts[exit_],
        size,
        *prices,
        reason=reason,
    )


def one_symbol_fills(cols: BarColumns, orders: SignalOrders, config: BacktestConfig) -> FillRecord:
    """The fills of a one-symbol run without protective exits (see the module docstring)."""
    symbol, slip, commission = cols.symbols[0], config.slippage, config.commission
    # Fill rows. An exit fills before an entry at the same open: an entry is closed by the
    # first matching exit strictly after it, and the next entry may fill at that exit's open.
    entries, exits, is_long = orders.entries + 1, orders.exits + 1, orders.entry_is_long
    exit_at = np.where(
        is_long,
        _first_after(exits[cols.exit_long[orders.exits]], entries),
        _first_after(exits[cols.exit_short[orders.exits]], entries),
    )
    next_entry = np.searchsorted(entries, exit_at, side="left")
    raw = cols.open[entries]
    entry_price = market_prices(raw, is_long, slip)
    exit_price = market_prices(cols.open[np.maximum(exit_at, 0)], ~is_long, slip)

    raw_l, price_l, exit_px_l = raw.tolist(), entry_price.tolist(), exit_price.tolist()
    sign_l, exit_l, next_l = np.where(is_long, 1, -1).tolist(), exit_at.tolist(), next_entry.tolist()
    balance = config.bankroll
    taken: list[int] = []
    sizes: list[int] = []
    fees_in: list[float] = []
    fees_out: list[float] = []
    log_balance: list[float] = []
    cash_skips = 0
    i, n = 0, len(raw_l)
    while i < n:
        price = price_l[i]
        # No position is open here, so free cash and equity are both the balance.
        size = entry_size(config, symbol, raw_l[i], price, balance, balance)
        if size <= 0:
            cash_skips += 1
            i += 1
            continue
        size *= sign_l[i]
        fee = commission(symbol, size, price)
        balance -= fee
        log_balance.append(balance)
        taken.append(i)
        sizes.append(size)
        fees_in.append(fee)
        if exit_l[i] < 0:
            break
        exit_px = exit_px_l[i]
        fee = commission(symbol, -size, exit_px)
        balance += size * (exit_px - price) - fee
        log_balance.append(balance)
        fees_out.append(fee)
        i = next_l[i]

    idx = np.array(taken, dtype=np.int64)
    entry_rows, exit_rows, exit_prices = entries[idx], exit_at[idx], exit_price[idx]
    reasons = ["signal"] * len(fees_out)
    log_rows = np.empty(len(log_balance), dtype=np.int64)
    log_rows[0::2] = entry_rows
    log_rows[1::2] = exit_rows[: len(fees_out)]
    n_closed = len(fees_out)
    if n_closed < idx.size:  # the last lot met no exit signal
        last = cols.ts.size - 1
        exit_rows[-1], exit_prices[-1] = last, cols.close[last]
        if config.close_at_end:
            size = sizes[-1]
            px = exit_prices[-1] = market_price(float(cols.close[last]), size < 0, slip)
            fee = commission(symbol, -size, px)
            balance += size * (px - price_l[taken[-1]]) - fee
            log_balance.append(balance)
            log_rows = np.append(log_rows, last)
            fees_out.append(fee)
            reasons.append("end")
            n_closed += 1
    fee_in = np.array(fees_in, dtype=np.float64)
    fee_total = fee_in.copy()
    fee_total[:n_closed] += np.array(fees_out, dtype=np.float64)
    size_a = np.array(sizes, dtype=np.int64)
    entry_prices = entry_price[idx]

    def part(s: slice, why: list[str]) -> RoundTrips:
        return _trips(
            cols, entry_rows[s], exit_rows[s], size_a[s], (entry_prices[s], exit_prices[s], fee_total[s]), why
        )

    return FillRecord(
        symbols=cols.symbols,
        closed=part(slice(0, n_closed), reasons),
        still_open=part(slice(n_closed, None), ["open"] * (idx.size - n_closed)),
        log_ts=cols.ts[log_rows],
        log_balance=np.array(log_balance, dtype=np.float64),
        skipped={"cash": cash_skips} if cash_skips else {},
    )
