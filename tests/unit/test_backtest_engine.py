"""The backtest engine on small hand-made frames: fills, costs, limits, exits, determinism."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest

from adapters.brokers.sim.fees import PerShareCommission
from core.strategies import SmaCross, make_strategy
from training.backtest import BacktestConfig, RelativeCommission, SimCommission, run_backtest, simulate

T0 = datetime(2024, 1, 2, 21, tzinfo=UTC)


def bars(symbol: str, opens: Sequence[float], **signals: Sequence[Any]) -> pl.DataFrame:
    """Daily bars with high/low 1 % around open/close unless given, plus signal columns."""
    n = len(opens)
    closes = signals.pop("close", opens)
    high = signals.pop("high", [max(o, c) * 1.01 for o, c in zip(opens, closes, strict=True)])
    low = signals.pop("low", [min(o, c) * 0.99 for o, c in zip(opens, closes, strict=True)])
    frame = pl.DataFrame(
        {
            "symbol": [symbol] * n,
            "ts": [T0 + timedelta(days=i) for i in range(n)],
            "open": opens,
            "high": high,
            "low": low,
            "close": closes,
            "volume": [1e6] * n,
        }
    )
    return frame.with_columns(pl.Series(k, v) for k, v in signals.items())


def flags(n: int, *rows: int) -> list[bool]:
    return [i in rows for i in range(n)]


def cfg(**kw: object) -> BacktestConfig:
    base: dict[str, object] = {"bankroll": 10_000.0, "max_positions": 1, "sizing": "all_in"}
    return BacktestConfig(**(base | kw))  # type: ignore[arg-type]


OPENS = [100.0, 101.0, 102.0, 104.0, 103.0, 105.0]


def test_market_orders_fill_at_the_next_open_and_commission_is_charged_both_ways() -> None:
    frame = bars("A", OPENS, entry_long=flags(6, 0), exit_long=flags(6, 2))
    res = simulate(frame, cfg(commission=RelativeCommission(0.001)))
    (t,) = res.trades.iter_rows(named=True)
    assert (t["entry_ts"], t["exit_ts"]) == (T0 + timedelta(days=1), T0 + timedelta(days=3))
    assert (t["entry_price"], t["exit_price"]) == (101.0, 104.0)
    assert t["size"] == int(10_000 // (101.0 * 1.001))
    fees = t["size"] * (101.0 + 104.0) * 0.001
    assert t["commission"] == pytest.approx(fees)
    assert t["pnl"] == pytest.approx(t["size"] * 3.0 - fees)
    assert res.final_equity == pytest.approx(10_000 + t["pnl"])


def test_slippage_moves_both_fills_against_the_trader() -> None:
    frame = bars("A", OPENS, entry_long=flags(6, 0), exit_long=flags(6, 2))
    (t,) = simulate(frame, cfg(slippage=0.01)).trades.iter_rows(named=True)
    assert t["entry_price"] == pytest.approx(101.0 * 1.01)
    assert t["exit_price"] == pytest.approx(104.0 * 0.99)


def test_a_signal_on_the_last_bar_never_fills() -> None:
    frame = bars("A", OPENS, entry_long=flags(6, 5))
    res = simulate(frame, cfg())
    assert res.trades.is_empty() and res.open_trades.is_empty()
    assert res.final_equity == 10_000.0


def test_max_positions_is_respected_with_ties_broken_by_symbol_name() -> None:
    frame = pl.concat([bars(s, OPENS, entry_long=flags(6, 0)) for s in ("C", "A", "B")])
    res = simulate(frame, cfg(max_positions=2, sizing="equal_weight", close_at_end=True))
    assert sorted(res.trades["symbol"].to_list()) == ["A", "B"]
    assert res.skipped == {"max_positions": 1}


def test_an_exit_frees_its_slot_for_an_entry_at_the_same_open() -> None:
    a = bars("A", OPENS, entry_long=flags(6, 0), exit_long=flags(6, 2))
    b = bars("B", OPENS, entry_long=flags(6, 2))
    res = simulate(pl.concat([b, a], how="diagonal"), cfg(close_at_end=True))
    got = res.trades.select("symbol", "entry_ts").rows()
    assert got == [("A", T0 + timedelta(days=1)), ("B", T0 + timedelta(days=3))]


def test_equal_weight_spends_a_share_of_equity_per_position() -> None:
    frame = pl.concat([bars(s, OPENS, entry_long=flags(6, 0)) for s in ("A", "B")])
    res = simulate(frame, BacktestConfig(bankroll=10_000, max_positions=4, close_at_end=True))
    assert res.trades["size"].to_list() == [int(2_500 // 101.0)] * 2


@pytest.mark.parametrize("seed", range(5))
def test_cash_never_goes_negative_with_costs_and_many_symbols(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = []
    for s in ("AA", "BB", "CC", "DD"):
        opens = list(100 * np.exp(np.cumsum(rng.normal(0, 0.03, 120))))
        frames.append(
            bars(s, opens, entry_long=list(rng.random(120) < 0.2), exit_long=list(rng.random(120) < 0.1))
        )
    for sizing in ("all_in", "equal_weight"):
        config = cfg(
            max_positions=3, sizing=sizing, commission=RelativeCommission(0.002, 1.0), slippage=0.001
        )
        res = simulate(pl.concat(frames), config)
        assert res.trades.height > 5
        assert res.equity["cash"].min() >= -1e-9  # type: ignore[operator]
        assert (res.equity["gross_exposure"] <= res.equity["equity"] + 1e-9).all()


def test_stop_fills_at_the_stop_or_at_a_gap_open_and_slips() -> None:
    touch = bars("A", OPENS, low=[99, 100, 95, 103, 102, 104], entry_long=flags(6, 0), stop=[97.0] * 6)
    (t,) = simulate(touch, cfg(slippage=0.001)).trades.iter_rows(named=True)
    assert (t["exit_reason"], t["exit_ts"]) == ("stop", T0 + timedelta(days=2))
    assert t["exit_price"] == pytest.approx(97.0 * 0.999)
    gap = bars("A", [100, 101, 96, 96], low=[99, 100, 95, 95], entry_long=flags(4, 0), stop=[97.0] * 4)
    (t,) = simulate(gap, cfg()).trades.iter_rows(named=True)
    assert (t["exit_reason"], t["exit_price"]) == ("stop", 96.0)


def test_target_fills_at_the_target_and_a_bar_touching_both_takes_the_stop() -> None:
    frame = bars("A", OPENS, high=[101, 102, 110, 105, 104, 106], entry_long=flags(6, 0), target=[108.0] * 6)
    (t,) = simulate(frame, cfg(slippage=0.01)).trades.iter_rows(named=True)
    assert (t["exit_reason"], t["exit_price"]) == ("target", 108.0)  # a limit: no slippage
    both = bars(
        "A", OPENS, high=[101, 102, 110, 105, 104, 106], low=[99, 100, 90, 103, 102, 104],
        entry_long=flags(6, 0), stop=[95.0] * 6, target=[108.0] * 6,
    )  # fmt: skip
    (t,) = simulate(both, cfg()).trades.iter_rows(named=True)
    assert (t["exit_reason"], t["exit_price"]) == ("stop", 95.0)


def test_an_exit_signal_before_the_stop_wins() -> None:
    frame = bars(
        "A", OPENS, low=[99, 100, 101, 90, 102, 104], entry_long=flags(6, 0), exit_long=flags(6, 1), stop=[95.0] * 6
    )  # fmt: skip
    (t,) = simulate(frame, cfg()).trades.iter_rows(named=True)
    assert (t["exit_reason"], t["exit_price"]) == ("signal", 102.0)


def test_shorts_profit_when_prices_fall() -> None:
    frame = bars("A", [100, 100, 95, 90, 90], entry_short=flags(5, 0), exit_short=flags(5, 2))
    (t,) = simulate(frame, cfg()).trades.iter_rows(named=True)
    assert (t["side"], t["entry_price"], t["exit_price"]) == ("short", 100.0, 90.0)
    assert t["pnl"] == pytest.approx(t["size"] * 10.0)


def test_close_at_end_closes_at_the_last_close_otherwise_the_position_stays_open() -> None:
    frame = bars("A", OPENS, close=[100, 101, 102, 104, 103, 107], entry_long=flags(6, 0))
    closed = simulate(frame, cfg(close_at_end=True))
    assert closed.trades.row(0, named=True)["exit_reason"] == "end"
    assert closed.trades.row(0, named=True)["exit_price"] == 107.0
    left = simulate(frame, cfg())
    assert left.trades.is_empty() and left.open_trades.height == 1
    assert left.final_equity == pytest.approx(closed.final_equity)


def test_sim_commission_models_price_the_fills() -> None:
    frame = bars("A", OPENS, entry_long=flags(6, 0), exit_long=flags(6, 2))
    per_share = SimCommission(PerShareCommission(per_share=Decimal("0.005"), minimum=Decimal(1)))
    (t,) = simulate(frame, cfg(commission=per_share)).trades.iter_rows(named=True)
    assert t["size"] < 200  # 0.005 a share stays under the 1.00 minimum
    assert t["commission"] == 2.0


def _random_walk(n: int, symbols: tuple[str, ...], seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for s in symbols:
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        opens = np.concatenate(([100.0], close[:-1]))
        out.append(bars(s, list(opens), close=list(close)))
    return pl.concat(out)


def test_results_are_deterministic_and_independent_of_row_order() -> None:
    frame = _random_walk(400, ("X", "Y", "Z"), seed=7)
    config = BacktestConfig(bankroll=20_000, max_positions=2, commission=RelativeCommission(0.001))
    first = run_backtest(SmaCross(5, 20), frame, config)
    again = run_backtest(
        SmaCross(5, 20), frame.sample(fraction=1.0, shuffle=True, seed=3).sort("symbol", "ts"), config
    )
    shuffled = simulate(SmaCross(5, 20).signals(frame).sample(fraction=1.0, shuffle=True, seed=3), config)
    assert first.trades.height > 10
    for other in (again, shuffled):
        assert first.trades.equals(other.trades)
        assert first.equity.equals(other.equity)


def test_equity_curve_has_one_row_per_timestamp_and_metrics_are_consistent() -> None:
    frame = _random_walk(300, ("X", "Y"), seed=1)
    res = run_backtest(make_strategy("sma_cross"), frame, BacktestConfig(close_at_end=True))
    assert res.equity.height == 300
    m = res.metrics
    assert m.n_trades == res.trades.height
    assert m.total_return == pytest.approx(res.final_equity / 20_000 - 1)
    assert res.trades["pnl"].sum() == pytest.approx(res.final_equity - 20_000)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="max_positions"):
        BacktestConfig(max_positions=0)
    with pytest.raises(ValueError, match="bankroll"):
        BacktestConfig(bankroll=-1)
