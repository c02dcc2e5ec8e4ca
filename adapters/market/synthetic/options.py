"""Option chains priced on demand with Black-Scholes and a volatility skew.

Expiries are every Friday within the horizon (weeklies) with the third Friday flagged as the
monthly; when the Friday is an exchange holiday the options expire the session before. Greeks
on an ``OptionQuote`` use broker conventions: ``theta`` per calendar day, ``vega`` per one
volatility point (0.01).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from adapters.market.synthetic import black_scholes as bs
from core.calendar import MarketCalendar, to_new_york
from core.clock import ensure_utc
from core.errors import InvalidValue
from core.model.instruments import OptionContract, OptionRight

_YEAR_SECONDS = 365.0 * 86_400.0


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """How chains are laid out and priced."""

    rate: float = 0.04
    dividend_yield: float = 0.0
    horizon_days: int = 70
    strikes_per_side: int = 15
    # (spot below, strike step) pairs checked in order; ``large_step`` above the last.
    strike_steps: tuple[tuple[float, float], ...] = ((200.0, 1.0),)
    large_step: float = 5.0
    # IV = atm * (1 + skew * -x + smile * x**2) with x = ln(K/F) / sqrt(T), clipped.
    skew: float = 0.6
    smile: float = 0.8
    iv_bounds: tuple[float, float] = (0.5, 3.0)  # as multiples of the ATM volatility
    # Quoted width: max(tick, abs_spread + rel_spread * theo), so cheap options are wider.
    abs_spread: float = 0.02
    rel_spread: float = 0.04

    def strike_step(self, spot: float) -> float:
        """The strike grid spacing for an underlying at ``spot``."""
        for below, step in self.strike_steps:
            if spot < below:
                return step
        return self.large_step


@dataclass(frozen=True, slots=True)
class Expiry:
    """One expiry date with its settlement instant (the session close, UTC)."""

    date: date
    close: datetime
    monthly: bool


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """A priced option: quote, theoretical value, implied volatility and greeks."""

    contract: OptionContract
    bid: float
    ask: float
    mid: float
    theo: float
    iv: float
    delta: float
    gamma: float
    theta: float  # per calendar day
    vega: float  # per volatility point
    underlying_price: float
    ts: datetime
    monthly: bool


def is_third_friday(d: date) -> bool:
    """Whether ``d`` is the third Friday of its month (the standard monthly expiry)."""
    return d.weekday() == 4 and 15 <= d.day <= 21


def expiries(at: datetime, horizon_days: int, calendar: MarketCalendar | None = None) -> list[Expiry]:
    """Expiries settling after ``at`` and within ``horizon_days`` calendar days of it."""
    at = ensure_utc(at)
    cal = calendar or MarketCalendar()
    today = to_new_york(at).date()
    found: list[Expiry] = []
    for n in range(horizon_days + 1):
        friday = today + timedelta(days=n)
        if friday.weekday() != 4:
            continue
        day = friday if cal.is_session(friday) else cal.previous_session(friday)
        close = cal.session_open_close(day)[1]
        if close > at:
            found.append(Expiry(day, close, is_third_friday(friday)))
    return found


def _tick(value: float) -> float:
    return 0.01 if value < 3.0 else 0.05


def chain_strikes(spot: float, config: ChainConfig) -> list[float]:
    """The listed strikes around ``spot``."""
    step = config.strike_step(spot)
    center = round(spot / step)
    n = config.strikes_per_side
    return [round(i * step, 3) for i in range(center - n, center + n + 1) if i > 0]


def skewed_vol(atm_vol: float, strike: float, forward: float, t: float, config: ChainConfig) -> float:
    """The implied volatility at ``strike``: higher for low strikes (put skew), a mild smile."""
    x = math.log(strike / forward) / math.sqrt(max(t, 1.0 / 365.0))
    lo, hi = config.iv_bounds
    factor = 1.0 + config.skew * -x + config.smile * x * x
    return atm_vol * min(max(factor, lo), hi)


def option_chain(
    underlying: str,
    at: datetime,
    spot: float,
    vol: float,
    config: ChainConfig | None = None,
    calendar: MarketCalendar | None = None,
) -> list[OptionQuote]:
    """Every call and put of ``underlying`` at ``at``, sorted by expiry, strike, right."""
    cfg = _checked(spot, vol, config)
    at = ensure_utc(at)
    quotes: list[OptionQuote] = []
    for exp in expiries(at, cfg.horizon_days, calendar):
        for strike in chain_strikes(spot, cfg):
            for right in (OptionRight.CALL, OptionRight.PUT):
                contract = OptionContract(underlying, exp.date, right, str(strike))
                quote = _price(contract, exp, at, spot, vol, cfg)
                if quote is not None:
                    quotes.append(quote)
    return quotes


def option_quotes(
    contracts: Iterable[OptionContract],
    at: datetime,
    spot: float,
    vol: float,
    config: ChainConfig | None = None,
    calendar: MarketCalendar | None = None,
) -> list[OptionQuote]:
    """The quotes ``option_chain`` gives ``contracts`` at ``at``, pricing only those.

    A contract of an expiry the chain does not list (expired, or beyond the horizon) or with
    no value is left out, as the chain leaves it out.
    """
    cfg = _checked(spot, vol, config)
    at = ensure_utc(at)
    listed = {e.date: e for e in expiries(at, cfg.horizon_days, calendar)}
    quotes: list[OptionQuote] = []
    for contract in contracts:
        exp = listed.get(contract.expiry)
        quote = None if exp is None else _price(contract, exp, at, spot, vol, cfg)
        if quote is not None:
            quotes.append(quote)
    return quotes


def _checked(spot: float, vol: float, config: ChainConfig | None) -> ChainConfig:
    if not (spot > 0 and vol > 0):
        raise InvalidValue(f"option chain needs spot > 0 and vol > 0, got {spot}, {vol}")
    return config or ChainConfig()


def _price(
    contract: OptionContract, exp: Expiry, at: datetime, spot: float, vol: float, cfg: ChainConfig
) -> OptionQuote | None:
    t = (exp.close - at).total_seconds() / _YEAR_SECONDS
    forward = spot * math.exp((cfg.rate - cfg.dividend_yield) * t)
    strike = float(contract.strike)
    iv = skewed_vol(vol, strike, forward, t, cfg)
    g = bs.greeks(
        "C" if contract.right is OptionRight.CALL else "P", spot, strike, t, cfg.rate, iv, cfg.dividend_yield
    )
    if g.price <= 0:
        return None
    tick = _tick(g.price)
    half = max(tick, cfg.abs_spread + cfg.rel_spread * g.price) / 2
    bid = round(max(0.0, math.floor((g.price - half) / tick) * tick), 2)
    ask = round(math.ceil((g.price + half) / tick) * tick, 2)
    return OptionQuote(
        contract=contract,
        bid=bid,
        ask=ask,
        mid=round((bid + ask) / 2, 3),
        theo=g.price,
        iv=iv,
        delta=g.delta,
        gamma=g.gamma,
        theta=g.theta / 365.0,
        vega=g.vega / 100.0,
        underlying_price=spot,
        ts=at,
        monthly=exp.monthly,
    )
