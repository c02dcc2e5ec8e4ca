"""Promotion gates and the deflated Sharpe ratio."""

import itertools
import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats

from core.errors import InvalidValue
from training.gates import (
    EULER_GAMMA,
    GateConfig,
    deflated_sharpe_ratio,
    evaluate_gates,
    expected_max_sharpe,
    per_period_sharpe_variance,
    probabilistic_sharpe_ratio,
)
from training.metrics import BacktestMetrics

RETURNS = np.random.default_rng(20240101).normal(
    0.002, 0.01, size=1000
)  # per-period SR ≈ 0.2, annualized ≈ 3.2

GOOD = BacktestMetrics(
    start=datetime(2022, 1, 3, 21, tzinfo=UTC),
    end=datetime(2025, 12, 31, 21, tzinfo=UTC),
    total_return=0.8,
    cagr=0.16,
    volatility=0.15,
    sharpe=2.0,
    sortino=3.0,
    max_drawdown_pct=6.0,
    max_drawdown_duration=timedelta(days=30),
    win_rate=0.55,
    profit_factor=1.6,
    n_trades=250,
    exposure=0.4,
    turnover=12.0,
    periods_per_year=252,
    n_periods=1000,
)


def _scipy_dsr(r: np.ndarray, n_trials: int, v: float) -> float:
    """The DSR written out independently with scipy."""
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    sr0 = 0.0
    if n_trials > 1:
        sr0 = math.sqrt(v) * (
            (1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / n_trials)
            + np.euler_gamma * stats.norm.ppf(1 - 1 / (n_trials * np.e))
        )
    z = (sr - sr0) * math.sqrt(r.size - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def test_paper_numerical_example() -> None:
    # Bailey & López de Prado (2014): SR 2.5 annualized over T = 1250 days, N = 100 trials,
    # annualized V = 1/2, skew -3, kurtosis 10 → SR0 ≈ 0.1132 per day, DSR ≈ 0.9004.
    v = 0.5 / 250
    sr0 = expected_max_sharpe(100, v)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    assert probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0) == pytest.approx(
        0.9004, abs=1e-4
    )


@pytest.mark.parametrize("n_trials", [1, 2, 10, 100, 5000])
def test_dsr_matches_an_independent_scipy_computation(n_trials: int) -> None:
    skewed = np.random.default_rng(1).standard_t(4, size=750) * 0.01 + 0.001
    for r in (RETURNS, skewed):
        got = deflated_sharpe_ratio(r, n_trials, 0.002)
        assert got.dsr == pytest.approx(_scipy_dsr(r, n_trials, 0.002), rel=1e-9)
        assert got.skew == pytest.approx(stats.skew(r))
        assert got.kurtosis == pytest.approx(stats.kurtosis(r, fisher=False))
        assert got.n_obs == r.size


def test_one_trial_is_the_probabilistic_sharpe_ratio() -> None:
    got = deflated_sharpe_ratio(RETURNS, 1, 0.05)
    assert got.expected_max_sharpe == 0.0
    psr = probabilistic_sharpe_ratio(got.sharpe, 0.0, RETURNS.size, got.skew, got.kurtosis)
    assert got.dsr == psr
    # Normal returns: the PSR is close to Φ(SR·√(T−1)/√(1 + SR²/2)).
    sr = got.sharpe
    assert psr == pytest.approx(stats.norm.cdf(sr * math.sqrt(999) / math.sqrt(1 + sr**2 / 2)), abs=1e-3)


def test_dsr_falls_as_trials_grow() -> None:
    r = np.random.default_rng(2).normal(0.0006, 0.01, size=500)
    dsrs = [deflated_sharpe_ratio(r, n, 0.003).dsr for n in (1, 2, 5, 20, 100, 1000, 10_000)]
    assert all(a > b for a, b in itertools.pairwise(dsrs))
    assert deflated_sharpe_ratio(r, 1000, 0.0).dsr == dsrs[0]  # no dispersion, nothing to deflate


def test_expected_max_sharpe_matches_simulated_maxima() -> None:
    v, n = 0.01, 100
    maxima = np.random.default_rng(7).normal(0.0, math.sqrt(v), size=(20_000, n)).max(axis=1)
    assert expected_max_sharpe(n, v) == pytest.approx(maxima.mean(), rel=0.02)
    assert abs(EULER_GAMMA - np.euler_gamma) < 1e-15


def test_dsr_input_checks() -> None:
    with pytest.raises(InvalidValue):
        expected_max_sharpe(0, 0.1)
    with pytest.raises(InvalidValue):
        expected_max_sharpe(10, -0.1)
    with pytest.raises(InvalidValue):
        expected_max_sharpe(10, math.nan)
    with pytest.raises(InvalidValue):
        deflated_sharpe_ratio([0.01], 1, 0.0)
    with pytest.raises(InvalidValue):
        deflated_sharpe_ratio([0.01, math.nan], 1, 0.0)
    assert math.isnan(deflated_sharpe_ratio([0.01, 0.01, 0.01], 1, 0.0).dsr)  # zero variance


def test_per_period_sharpe_variance() -> None:
    assert per_period_sharpe_variance([1.0, 2.0, 3.0], 252) == pytest.approx(1.0 / 252)
    assert per_period_sharpe_variance([1.0, math.nan, 3.0], 4) == pytest.approx(0.5)
    assert per_period_sharpe_variance([1.5], 252) == 0.0


def test_all_gates_pass() -> None:
    report = evaluate_gates(GOOD, 10, per_period_sharpe_variance([1.0, 1.5, 2.0, 0.5], 252), RETURNS)
    assert report.passed
    assert report.failed == ()
    assert [g.name for g in report.gates] == [
        "sharpe",
        "max_drawdown_pct",
        "n_trades",
        "win_rate",
        "deflated_sharpe",
    ]
    dsr = next(g for g in report.gates if g.name == "deflated_sharpe")
    assert dsr.threshold == 0.95 and dsr.value == report.deflated.dsr > 0.95


@pytest.mark.parametrize(
    ("change", "gate"),
    [
        ({"sharpe": 0.99}, "sharpe"),
        ({"sharpe": math.nan}, "sharpe"),
        ({"max_drawdown_pct": 10.01}, "max_drawdown_pct"),
        ({"n_trades": 99}, "n_trades"),
        ({"win_rate": 0.449}, "win_rate"),
        ({"win_rate": math.nan}, "win_rate"),
    ],
)
def test_one_failing_gate_fails_the_report(change: dict[str, Any], gate: str) -> None:
    report = evaluate_gates(replace(GOOD, **change), 10, 0.001, RETURNS)
    assert not report.passed
    assert report.failed == (gate,)


def test_thresholds_are_inclusive_and_configurable() -> None:
    edge = replace(GOOD, sharpe=1.0, max_drawdown_pct=10.0, n_trades=100, win_rate=0.45)
    assert evaluate_gates(edge, 1, 0.0, RETURNS).passed
    strict = GateConfig(min_sharpe=2.5)
    assert evaluate_gates(GOOD, 1, 0.0, RETURNS, strict).failed == ("sharpe",)


def test_many_trials_fail_the_deflated_gate() -> None:
    rng = np.random.default_rng(3)
    weak = rng.normal(0.0008, 0.01, size=500)  # annualized SR ≈ 1.3 but a lucky pick of many
    report = evaluate_gates(GOOD, 1000, per_period_sharpe_variance(rng.normal(0, 1, 1000), 252), weak)
    assert report.deflated.dsr < 0.5
    assert evaluate_gates(GOOD, 1, 0.0, weak).deflated.dsr > report.deflated.dsr
    assert report.failed == ("deflated_sharpe",)


def test_gate_config_validation() -> None:
    with pytest.raises(InvalidValue):
        GateConfig(min_win_rate=1.5)
    with pytest.raises(InvalidValue):
        GateConfig(min_deflated_sharpe=95.0)
    with pytest.raises(InvalidValue):
        GateConfig(max_drawdown_pct=-1.0)


def test_report_to_dict_is_strict_json() -> None:
    report = evaluate_gates(replace(GOOD, sharpe=math.nan), 5, 0.001, RETURNS)
    d = report.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["passed"] is False
    assert d["gates"][0] == {"name": "sharpe", "op": ">=", "threshold": 1.0, "value": None, "passed": False}
    assert d["deflated"]["n_trials"] == 5
