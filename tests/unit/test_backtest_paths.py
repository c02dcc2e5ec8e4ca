"""The vectorised one-symbol fill path gives the event loop's fills and results to the bit."""

from __future__ import annotations

from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from adapters.brokers.sim.fees import PerShareCommission
from core.strategies.base import complete_signals
from training.backtest import BacktestConfig, RelativeCommission, SimCommission, simulate
from training.backtest.columns import BarColumns, SignalOrders
from training.backtest.engine import event_fills
from training.backtest.one_symbol import one_symbol_fills
from training.backtest.result import build_result
from training.backtest.state import FillRecord


def random_signals(n: int, seed: int, *, shorts: bool, rate: float = 0.1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0, 0.005, n))
    cols: dict[str, object] = {
        "symbol": ["X"] * n,
        "ts": [datetime(2024, 1, 2, 14, 30, tzinfo=UTC) + timedelta(minutes=i) for i in range(n)],
        "open": open_,
        "high": np.maximum(open_, close) * 1.002,
        "low": np.minimum(open_, close) * 0.998,
        "close": close,
        "volume": np.full(n, 1e4),
        "entry_long": rng.random(n) < rate,
        "exit_long": rng.random(n) < rate,
    }
    if shorts:
        cols |= {"entry_short": rng.random(n) < rate, "exit_short": rng.random(n) < rate}
    return complete_signals(pl.DataFrame(cols))


CONFIGS = [
    BacktestConfig(bankroll=10_000, max_positions=1, sizing="all_in"),
    BacktestConfig(
        bankroll=10_000, max_positions=1, sizing="all_in", commission=RelativeCommission(0.002, 1.0)
    ),
    BacktestConfig(bankroll=10_000, max_positions=3, slippage=0.001, close_at_end=True),
    BacktestConfig(
        bankroll=5_000,
        sizing="equal_weight",
        max_positions=2,
        slippage=0.0005,
        commission=SimCommission(PerShareCommission(Decimal("0.01"), Decimal("1"))),
    ),
    # Too little cash for a share now and then: entries are skipped and the chain moves on.
    BacktestConfig(bankroll=60, max_positions=1, sizing="all_in", commission=RelativeCommission(0.01)),
]


def _same(a: FillRecord, b: FillRecord) -> None:
    assert a.skipped == b.skipped
    np.testing.assert_array_equal(a.log_ts, b.log_ts)
    np.testing.assert_array_equal(a.log_balance, b.log_balance)
    for mine, theirs in ((a.closed, b.closed), (a.still_open, b.still_open)):
        for x, y in zip(astuple(mine), astuple(theirs), strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
@pytest.mark.parametrize("shorts", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_symbol_path_equals_the_event_loop(config: BacktestConfig, shorts: bool, seed: int) -> None:
    frame = random_signals(400, seed, shorts=shorts)
    cols = BarColumns.of(frame)
    orders = SignalOrders.of(cols)
    fast, events = one_symbol_fills(cols, orders, config), event_fills(cols, orders, config)
    assert len(events.closed) > 5
    _same(fast, events)
    # And simulate, which takes the fast path here, builds the same result from either.
    result, reference = simulate(frame, config), build_result(cols, events, config.bankroll, "")
    assert result.trades.equals(reference.trades)
    assert result.open_trades.equals(reference.open_trades)
    assert result.equity.equals(reference.equity)


def test_cash_skips_are_counted_like_the_event_loop() -> None:
    frame = random_signals(400, 5, shorts=False, rate=0.2)
    config = CONFIGS[-1]
    cols = BarColumns.of(frame)
    fast = one_symbol_fills(cols, SignalOrders.of(cols), config)
    assert fast.skipped.get("cash", 0) > 0
    _same(fast, event_fills(cols, SignalOrders.of(cols), config))


def test_no_signals_means_no_trades_and_flat_equity() -> None:
    frame = random_signals(50, 1, shorts=False, rate=0.0)
    result = simulate(frame, CONFIGS[0])
    assert result.trades.height == result.open_trades.height == 0
    assert (result.equity["equity"] == 10_000).all()
