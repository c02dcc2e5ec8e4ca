"""Black-Scholes-Merton prices, greeks and implied volatility for European options.

Pure ``math``. Inputs: spot ``s``, strike ``k``, time ``t`` in years, rate ``r`` and dividend
yield ``q`` continuously compounded, volatility ``sigma`` per year. Greeks are the raw
derivatives: ``theta`` per year, ``vega`` per 1.00 of volatility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidValue

Right = Literal["C", "P"]
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def norm_cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_pdf(x: float) -> float:
    """The standard normal density."""
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and first/second order sensitivities of one option."""

    price: float
    delta: float
    gamma: float
    theta: float
    vega: float


def _check(s: float, k: float, t: float, sigma: float) -> None:
    if not (s > 0 and k > 0 and t >= 0 and sigma >= 0):
        raise InvalidValue(f"need s > 0, k > 0, t >= 0, sigma >= 0; got s={s} k={k} t={t} sigma={sigma}")


def _d1_d2(s: float, k: float, t: float, r: float, q: float, sigma: float) -> tuple[float, float]:
    vt = sigma * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vt
    return d1, d1 - vt


def price(right: Right, s: float, k: float, t: float, r: float, sigma: float, q: float = 0.0) -> float:
    """The option's value."""
    return greeks(right, s, k, t, r, sigma, q).price


def greeks(right: Right, s: float, k: float, t: float, r: float, sigma: float, q: float = 0.0) -> Greeks:
    """Price, delta, gamma, theta (per year) and vega (per 1.00 vol) of a European option."""
    _check(s, k, t, sigma)
    call = right == "C"
    df_r, df_q = math.exp(-r * t), math.exp(-q * t)
    if t == 0 or sigma == 0:
        # No uncertainty left: the discounted intrinsic value of the forward.
        fwd = s * df_q - k * df_r
        value = max(fwd, 0.0) if call else max(-fwd, 0.0)
        itm = fwd > 0 if call else fwd < 0
        delta = (df_q if call else -df_q) if itm else 0.0
        return Greeks(value, delta, 0.0, 0.0, 0.0)
    d1, d2 = _d1_d2(s, k, t, r, q, sigma)
    sqrt_t = math.sqrt(t)
    pdf = norm_pdf(d1)
    gamma = df_q * pdf / (s * sigma * sqrt_t)
    vega = s * df_q * pdf * sqrt_t
    decay = -s * df_q * pdf * sigma / (2 * sqrt_t)
    if call:
        value = s * df_q * norm_cdf(d1) - k * df_r * norm_cdf(d2)
        delta = df_q * norm_cdf(d1)
        theta = decay - r * k * df_r * norm_cdf(d2) + q * s * df_q * norm_cdf(d1)
    else:
        value = k * df_r * norm_cdf(-d2) - s * df_q * norm_cdf(-d1)
        delta = -df_q * norm_cdf(-d1)
        theta = decay + r * k * df_r * norm_cdf(-d2) - q * s * df_q * norm_cdf(-d1)
    return Greeks(value, delta, gamma, theta, vega)


def implied_vol(
    right: Right,
    target: float,
    s: float,
    k: float,
    t: float,
    r: float,
    q: float = 0.0,
    tol: float = 1e-10,
) -> float:
    """The volatility at which ``price`` equals ``target`` (bisection with Newton steps).

    Raises ``InvalidValue`` when ``target`` is outside the no-arbitrage bounds.
    """
    _check(s, k, t, 0.0)
    lo_price = price(right, s, k, t, r, 0.0, q)
    hi_bound = s * math.exp(-q * t) if right == "C" else k * math.exp(-r * t)
    if t == 0 or not lo_price <= target < hi_bound:
        raise InvalidValue(f"price {target} outside ({lo_price}, {hi_bound}) for {right} k={k}")
    lo, hi, sigma = 1e-6, 10.0, 0.3
    for _ in range(200):
        g = greeks(right, s, k, t, r, sigma, q)
        diff = g.price - target
        if abs(diff) < tol:
            return sigma
        if diff > 0:
            hi = sigma
        else:
            lo = sigma
        step = sigma - diff / g.vega if g.vega > 1e-12 else -1.0
        sigma = step if lo < step < hi else 0.5 * (lo + hi)
    return sigma
