"""Black-Scholes: known values, put-call parity, greeks against finite differences, IV."""

from __future__ import annotations

import math

import pytest

from adapters.market.synthetic import black_scholes as bs
from core.errors import InvalidValue


def test_norm_cdf_known_values() -> None:
    assert bs.norm_cdf(0.0) == pytest.approx(0.5)
    assert bs.norm_cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-12)
    assert bs.norm_cdf(-8.0) == pytest.approx(6.22096057427e-16, rel=1e-6)


def test_textbook_values() -> None:
    # Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10%, sigma=20%, T=0.5.
    assert bs.price("C", 42, 40, 0.5, 0.10, 0.20) == pytest.approx(4.76, abs=0.005)
    assert bs.price("P", 42, 40, 0.5, 0.10, 0.20) == pytest.approx(0.81, abs=0.005)


@pytest.mark.parametrize(
    ("s", "k", "t", "r", "q", "sigma"),
    [
        (100, 100, 0.25, 0.04, 0.0, 0.2),
        (50, 65, 1.5, 0.01, 0.02, 0.6),
        (300, 240, 0.01, 0.05, 0.0, 0.35),
    ],
)
def test_put_call_parity(s: float, k: float, t: float, r: float, q: float, sigma: float) -> None:
    call, put = bs.price("C", s, k, t, r, sigma, q), bs.price("P", s, k, t, r, sigma, q)
    assert call - put == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-9)


@pytest.mark.parametrize("right", ["C", "P"])
@pytest.mark.parametrize(("s", "k", "t"), [(100, 95, 0.3), (100, 110, 0.05), (20, 20, 1.0)])
def test_greeks_match_finite_differences(right: bs.Right, s: float, k: float, t: float) -> None:
    r, q, sigma = 0.03, 0.01, 0.3
    g = bs.greeks(right, s, k, t, r, sigma, q)
    h = s * 1e-4
    up, down = bs.price(right, s + h, k, t, r, sigma, q), bs.price(right, s - h, k, t, r, sigma, q)
    assert g.delta == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
    assert g.gamma == pytest.approx((up - 2 * g.price + down) / h**2, rel=1e-3, abs=1e-6)
    dv = 1e-5
    vega = (bs.price(right, s, k, t, r, sigma + dv, q) - bs.price(right, s, k, t, r, sigma - dv, q)) / (
        2 * dv
    )
    assert g.vega == pytest.approx(vega, rel=1e-5)
    dt = 1e-6
    theta = -(bs.price(right, s, k, t + dt, r, sigma, q) - bs.price(right, s, k, t - dt, r, sigma, q)) / (
        2 * dt
    )
    assert g.theta == pytest.approx(theta, rel=1e-4, abs=1e-6)


def test_expiry_is_intrinsic() -> None:
    assert bs.price("C", 105, 100, 0.0, 0.05, 0.3) == pytest.approx(5.0)
    assert bs.price("P", 105, 100, 0.0, 0.05, 0.3) == 0.0
    assert bs.greeks("P", 95, 100, 0.0, 0.05, 0.3).delta == -1.0


@pytest.mark.parametrize("right", ["C", "P"])
@pytest.mark.parametrize("sigma", [0.05, 0.25, 1.2])
def test_implied_vol_round_trip(right: bs.Right, sigma: float) -> None:
    target = bs.price(right, 100, 90, 0.4, 0.02, sigma)
    assert bs.implied_vol(right, target, 100, 90, 0.4, 0.02) == pytest.approx(sigma, abs=1e-7)


def test_implied_vol_refuses_arbitrage_prices() -> None:
    with pytest.raises(InvalidValue):
        bs.implied_vol("C", 200.0, 100, 90, 0.4, 0.02)
    with pytest.raises(InvalidValue):
        bs.greeks("C", -1, 90, 0.4, 0.02, 0.2)
