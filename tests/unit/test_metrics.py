"""Metrics against values worked out by hand."""

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from core.errors import InvalidValue
from training.metrics import ClosedTrade, compute_metrics, infer_periods_per_year, session_returns

# Four NYSE sessions, stamped at the 16:00 New York close (21:00 UTC in January).
CLOSES = [datetime(2024, 1, d, 21, tzinfo=UTC) for d in (2, 3, 4, 5)]
VALUES = [100.0, 110.0, 99.0, 108.9]  # returns +10 %, -10 %, +10 %


def _trade(pnl: float, start: datetime, end: datetime, ret: float = 0.01, notional: float | None = None):
    return ClosedTrade(pnl=pnl, entry_ts=start, exit_ts=end, ret=ret, notional=notional)


def test_daily_curve_ratios_match_hand_computation() -> None:
    m = compute_metrics((CLOSES, VALUES))
    # mean 1/30, sample variance 1/75 → per-period Sharpe √3/6; × √252 = √21.
    assert m.periods_per_year == 252
    assert m.n_periods == 3
    assert m.sharpe == pytest.approx(math.sqrt(21))
    # downside deviation √(0.01/3) → per-period Sortino √3/3; × √252 = √84.
    assert m.sortino == pytest.approx(math.sqrt(84))
    assert m.volatility == pytest.approx(math.sqrt(252 / 75))
    assert m.total_return == pytest.approx(0.089)
    # peak 110 → 99, never recovered: from the Jan 3 peak to the Jan 5 end.
    assert m.max_drawdown_pct == pytest.approx(10.0)
    assert m.max_drawdown_duration == timedelta(days=2)
    assert (m.start, m.end) == (CLOSES[0], CLOSES[-1])


def test_cagr_uses_calendar_years() -> None:
    ts = [datetime(2020, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)]  # 731 days
    m = compute_metrics((ts, [100.0, 121.0]))
    assert m.cagr == pytest.approx(1.21 ** (365.25 / 731) - 1)
    assert m.total_return == pytest.approx(0.21)


def test_risk_free_rate_is_spread_over_the_periods() -> None:
    m = compute_metrics((CLOSES, VALUES), risk_free_rate=0.0252)  # 0.0001 per session
    excess = np.array([0.1, -0.1, 0.1]) - 0.0001
    assert m.sharpe == pytest.approx(excess.mean() / excess.std(ddof=1) * math.sqrt(252))


def test_intraday_equity_is_resampled_by_new_york_session() -> None:
    ts = [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 21, 0, tzinfo=UTC),
        datetime(2024, 1, 3, 1, 0, tzinfo=UTC),  # 20:00 New York: still the Jan 2 session
        datetime(2024, 1, 3, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 3, 21, 0, tzinfo=UTC),
    ]
    values = [100.0, 101.0, 102.0, 103.0, 99.96]
    # The first session's opening value is the base: 100 → 102 → 99.96.
    assert session_returns((ts, values)) == pytest.approx([0.02, -0.02])
    m = compute_metrics((ts, values))
    assert m.n_periods == 2
    assert m.periods_per_year == 252
    assert m.max_drawdown_pct == pytest.approx((1 - 99.96 / 103.0) * 100)


def test_periods_per_year_inference() -> None:
    start = np.datetime64("2024-01-05T21:00")
    assert infer_periods_per_year(start + np.arange(10) * np.timedelta64(1, "D")) == 252
    assert infer_periods_per_year(start + np.arange(10) * np.timedelta64(7, "D")) == 52
    assert infer_periods_per_year(start + np.arange(10) * np.timedelta64(30, "D")) == 12
    assert infer_periods_per_year(start + np.arange(10) * np.timedelta64(365, "D")) == 1
    assert infer_periods_per_year(start + np.arange(1) * np.timedelta64(1, "D")) == 252
    weekly = [datetime(2024, 1, 5, 21, tzinfo=UTC) + timedelta(weeks=i) for i in range(6)]
    assert compute_metrics((weekly, [100, 101, 99, 102, 104, 103])).periods_per_year == 52
    assert (
        compute_metrics((weekly, [100, 101, 99, 102, 104, 103]), periods_per_year=252).periods_per_year == 252
    )


def test_drawdown_duration_is_the_longest_peak_to_recovery() -> None:
    ts = [datetime(2024, 3, d, tzinfo=UTC) for d in range(1, 7)]
    m = compute_metrics((ts, [100.0, 120.0, 90.0, 110.0, 125.0, 100.0]))
    assert m.max_drawdown_pct == pytest.approx(25.0)  # 120 → 90
    assert m.max_drawdown_duration == timedelta(days=3)  # peak Mar 2, back above it Mar 5
    flat = compute_metrics((ts, [100.0, 101, 102, 103, 104, 105]))
    assert flat.max_drawdown_pct == 0.0
    assert flat.max_drawdown_duration == timedelta(0)
    assert math.isnan(flat.sortino)  # no losing period: undefined, not infinite


def test_trade_statistics() -> None:
    t0 = CLOSES[0]
    trades = [_trade(p, t0, t0 + timedelta(hours=1)) for p in (10.0, -5.0, 20.0, -5.0, 0.0)]
    m = compute_metrics((CLOSES, VALUES), trades)
    assert m.n_trades == 5
    assert m.win_rate == pytest.approx(0.4)  # a scratch trade is not a win
    assert m.profit_factor == pytest.approx(3.0)
    winners = compute_metrics((CLOSES, VALUES), trades[:1])
    assert winners.profit_factor == math.inf
    none = compute_metrics((CLOSES, VALUES))
    assert none.n_trades == 0 and math.isnan(none.win_rate) and math.isnan(none.profit_factor)
    assert none.exposure == 0.0 and none.turnover == 0.0


def test_exposure_counts_curve_intervals_with_a_position() -> None:
    t = [datetime(2024, 1, 2, 15, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    trades = [
        _trade(1.0, t[0], t[1]),  # interval 0 only: exits exactly when interval 1 opens
        _trade(1.0, t[1], t[1]),  # zero length: no exposure
        _trade(1.0, t[2] + timedelta(minutes=30), t[3] + timedelta(minutes=10)),  # intervals 2 and 3
    ]
    m = compute_metrics((t, [100.0, 101, 102, 103, 104]), trades)
    assert m.exposure == pytest.approx(0.75)


def test_turnover_is_annual_notional_over_mean_equity() -> None:
    ts = [datetime(2020, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)]
    trades = [
        _trade(10.0, ts[0], ts[1], ret=0.01),  # notional derived: 10 / 0.01 = 1000
        _trade(-3.0, ts[0], ts[1], ret=-0.5, notional=1000.0),
    ]
    m = compute_metrics((ts, [100.0, 121.0]), trades)
    assert m.turnover == pytest.approx(2000 / 110.5 / (731 / 365.25))


def test_input_forms_agree() -> None:
    frame = pl.DataFrame({"ts": CLOSES, "equity": VALUES})
    stamps = np.array([c.replace(tzinfo=None) for c in CLOSES], dtype="datetime64[us]")  # read as UTC
    ny = pl.DataFrame({"ts": CLOSES, "equity": VALUES}).with_columns(
        pl.col("ts").dt.convert_time_zone("America/New_York")
    )
    reference = compute_metrics((CLOSES, VALUES))
    assert compute_metrics(frame) == reference
    assert compute_metrics((stamps, np.array(VALUES))) == reference
    assert compute_metrics(ny) == reference


@pytest.mark.parametrize(
    "equity",
    [
        (CLOSES[:1], VALUES[:1]),
        (list(reversed(CLOSES)), VALUES),
        ([c.replace(tzinfo=None) for c in CLOSES], VALUES),
        (CLOSES, [0.0, 1.0, 2.0, 3.0]),
        (CLOSES, [100.0, math.nan, 1.0, 2.0]),
        (CLOSES, VALUES[:3]),
        pl.DataFrame({"ts": [c.replace(tzinfo=None) for c in CLOSES], "equity": VALUES}),
        pl.DataFrame({"time": CLOSES, "equity": VALUES}),
    ],
)
def test_bad_curves_are_refused(equity) -> None:
    with pytest.raises(InvalidValue):
        compute_metrics(equity)


def test_bad_trades_are_refused() -> None:
    with pytest.raises(InvalidValue):
        _trade(1.0, CLOSES[1], CLOSES[0])
    with pytest.raises(InvalidValue):
        _trade(math.inf, CLOSES[0], CLOSES[1])


def test_to_dict_is_strict_json() -> None:
    t0 = CLOSES[0]
    m = compute_metrics((CLOSES, VALUES), [_trade(5.0, t0, t0 + timedelta(hours=1))])
    d = m.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["profit_factor"] is None  # infinite
    assert d["max_drawdown_duration_days"] == pytest.approx(2.0)
    assert d["start"] == "2024-01-02T21:00:00+00:00"
    assert d["sharpe"] == pytest.approx(math.sqrt(21))
    assert d["n_trades"] == 1
