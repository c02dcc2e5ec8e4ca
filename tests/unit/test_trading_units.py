"""The small pieces: the rolling window, sizing, the ATR and feature parity, latency, commands."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest

from core.calendar import MarketCalendar
from core.errors import InvalidValue
from core.features import intraday_features, latest_row
from core.trading import LatencyRecorder, RollingBars, SizingPolicy, parse_command, size_position
from core.trading.commands import ControlState, Override
from core.trading.config import AccountRuntimeConfig
from core.trading.features import latest_features, sizing_atr
from core.trading.sizing import stop_price, target_price
from tests.unit.test_trading_support import SESSION, minutes, session_bars

SYMBOLS = ("SYNA", "SYNB", "SYNC")


# -- the window -----------------------------------------------------------------------------
def test_window_keeps_the_last_rows_per_symbol_and_ignores_replays() -> None:
    bars = session_bars(SYMBOLS)
    window = RollingBars(50)
    for frame in minutes(bars)[:120]:
        window.append(frame)
    assert window.append(minutes(bars)[119]) == 0  # a replayed event changes nothing
    expected = bars.filter(pl.col("ts") <= minutes(bars)[119]["ts"][0]).group_by("symbol").tail(50)
    assert window.frame().equals(expected.sort("symbol", "ts"))
    assert window.frame(["SYNB"], last=3).equals(expected.filter(pl.col("symbol") == "SYNB").tail(3))
    assert window.rows("SYNA") == 50 and window.symbols == list(SYMBOLS)
    assert window.last_ts == minutes(bars)[119]["ts"][0]
    latest = window.latest("SYNC")
    assert latest is not None and latest["close"] == expected.filter(pl.col("symbol") == "SYNC")["close"][-1]


def test_window_accepts_bars_without_quotes() -> None:
    bars = session_bars(("SYNA",)).head(5).drop("bid", "ask")
    window = RollingBars(3)
    window.append(bars)
    frame = window.frame()
    assert frame.height == 3 and frame["bid"].null_count() == 3


# -- features and the sizing ATR --------------------------------------------------------------
def test_latest_features_equal_latest_row_and_the_sizing_atr_matches_the_feature() -> None:
    bars = session_bars(SYMBOLS)
    window = RollingBars(421)
    for frame in minutes(bars)[:90]:
        window.append(frame)
    rows = latest_features(window, SYMBOLS, "intraday")
    session_open = MarketCalendar().session_open_close(SESSION)[0]
    for symbol in SYMBOLS:
        expected = latest_row(window.frame([symbol]), "intraday")
        assert rows[symbol].keys() == expected.keys()
        for name, value in expected.items():
            assert rows[symbol][name] == pytest.approx(value, nan_ok=True)
        batch = intraday_features(window.frame([symbol]))["atr"][-1]
        assert sizing_atr(window, symbol, session_open) == pytest.approx(batch, rel=1e-9)
    early = RollingBars(421)
    early.append(minutes(bars)[0])
    assert sizing_atr(early, "SYNA", session_open) is None


# -- sizing ------------------------------------------------------------------------------------
POLICY = SizingPolicy(bankroll=Decimal(100_000), max_positions=5, risk_fraction=Decimal("0.01"))


def test_size_is_the_smallest_of_risk_capital_and_exposure() -> None:
    by_risk = size_position(POLICY, Decimal(100), Decimal(98), Decimal(1_000_000), 0)
    assert (by_risk.quantity, by_risk.limited_by, by_risk.risk) == (Decimal(200), "capital", Decimal(400))
    tight = size_position(POLICY, Decimal(100), Decimal("99.8"), Decimal(1_000_000), 0)
    assert tight.quantity == 200 and tight.limited_by == "capital"
    wide = size_position(POLICY, Decimal(100), Decimal(90), Decimal(1_000_000), 0)
    assert (wide.quantity, wide.limited_by) == (Decimal(100), "risk")
    capped = SizingPolicy(Decimal(100_000), 5, Decimal("0.01"), Decimal(250), Decimal(5_000))
    assert size_position(capped, Decimal(100), Decimal(90), Decimal(10**6), 0).quantity == 25
    assert size_position(capped, Decimal(100), Decimal(99), Decimal(10**6), 0).limited_by == "exposure"


def test_freed_buying_power_is_shared_by_the_free_slots() -> None:
    # 3 of 5 slots used, 10k left: 5k a slot, not the nominal 20k.
    sizing = size_position(POLICY, Decimal(50), Decimal(45), Decimal(10_000), 3)
    assert (sizing.quantity, sizing.limited_by) == (Decimal(100), "capital")
    assert size_position(POLICY, Decimal(50), Decimal(45), Decimal(10_000), 5).quantity == 0
    assert (
        size_position(POLICY, Decimal(50), Decimal(50), Decimal(10_000), 0).limited_by == "no stop distance"
    )
    fractional = SizingPolicy(Decimal(1_000), 1, Decimal("0.01"), fraction_step=Decimal("0.001"))
    assert size_position(fractional, Decimal(300), Decimal(290), Decimal(1_000), 0).quantity == Decimal(
        "1.000"
    )


def test_atr_stops_and_reward_targets() -> None:
    assert stop_price(100.0, "long", 0.5, 2.0) == 99.0
    assert stop_price(100.0, "short", 0.5, 2.0) == 101.0
    assert stop_price(100.0, "long", math.nan, 2.0) is None
    assert target_price(100.0, 99.0, 2.0) == 102.0
    assert target_price(100.0, 101.0, 2.0) == 98.0


# -- latency -----------------------------------------------------------------------------------
def test_latency_percentiles_use_the_injected_timer() -> None:
    readings = iter([0.0, 0.010, 1.0, 1.002, 2.0, 2.030])
    recorder = LatencyRecorder(lambda: next(readings), window=2)
    for _ in range(3):
        recorder.since(recorder.now())
    assert recorder.total == 3 and recorder.count == 2  # the window keeps the last two
    assert recorder.p50 == pytest.approx(0.002) and recorder.p99 == pytest.approx(0.030)
    assert recorder.summary()["p99_ms"] == 30.0
    assert LatencyRecorder(lambda: 0.0).p99 is None


# -- commands and configuration ------------------------------------------------------------------
def test_commands_parse_with_aliases_and_set_the_control_state() -> None:
    assert parse_command({"cmd": "kill", "by": "ops"}).override is Override.HALT
    assert parse_command({"cmd": "resume-all"}).override is Override.RESUME_ALL
    with pytest.raises(InvalidValue, match="unknown command 'explode'"):
        parse_command({"cmd": "explode"})
    state = ControlState().after(parse_command({"cmd": "pause"}))
    assert state.paused and not state.entries_allowed
    halted = state.after(parse_command({"cmd": "halt", "reason": "news"}))
    assert halted.halted and halted.halt_reason == "news"
    assert halted.after(parse_command({"cmd": "resume"})).halted  # resume lifts a pause only
    assert halted.after(parse_command({"cmd": "resume_all"})).entries_allowed
    assert ControlState.from_payload({"state": halted.to_payload()}) == halted


def test_runtime_config_validates_its_fields() -> None:
    with pytest.raises(InvalidValue, match="unknown timeframes"):
        AccountRuntimeConfig(timeframes={"x": "2m"})
    with pytest.raises(InvalidValue, match="monitor_interval"):
        AccountRuntimeConfig(monitor_interval=timedelta(0))
    assert AccountRuntimeConfig(timeframes={"swing": "1d"}).timeframe_of("swing") == "1d"
