"""Configuration of the synthetic market: the seed, the universe, and the knobs of its edges.

Every per-symbol parameter (base price, volatility, spread, volume) is derived from
``(seed, symbol)`` through a stable hash, so adding a symbol never changes another one's path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from core.errors import InvalidValue

# The same universe as configs.components.DEFAULT_SYMBOLS: SYNA..SYNT.
DEFAULT_SYMBOLS: tuple[str, ...] = tuple(f"SYN{chr(ord('A') + i)}" for i in range(20))
# Size of the intraday deviation at mean_reversion_strength=1, relative to the minute volatility.
MEAN_REVERSION_SCALE = 3.0


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def symbol_rng(seed: int, symbol: str, stream: str = "path") -> np.random.Generator:
    """An independent random stream for ``(seed, symbol, stream)``."""
    return np.random.default_rng(np.random.SeedSequence([seed, stable_hash(symbol), stable_hash(stream)]))


@dataclass(frozen=True, slots=True)
class SymbolParams:
    """The fixed characteristics of one synthetic symbol."""

    symbol: str
    base_price: float
    annual_vol: float  # annualised volatility in the low-volatility regime
    spread_bps: float  # typical quoted spread at mid-day, in basis points of the price
    base_volume: float  # mean shares traded per minute at mid-day


@dataclass(frozen=True, slots=True)
class SyntheticMarketConfig:
    """Knobs of the synthetic market. Same config, same bytes.

    Edges (both vanish with ``edge_enabled=False``, leaving a martingale with the same
    volatility regimes, jumps, volume and spreads):

    * ``mean_reversion_strength`` (0..1): the observed price is the efficient price plus an
      AR(1) deviation (half-life ``mean_reversion_half_life`` minutes, reset at each open)
      whose innovations are ``3 * strength`` times the efficient minute volatility. 1-minute
      returns get a lag-1 autocorrelation of about -0.07 at 0.3 and -0.13 at 1.
    * ``trend_strength`` (0..1): a persistent daily drift regime (up, flat or down; mean
      duration ``trend_mean_days`` sessions) whose drift is this fraction of the daily
      volatility.
    """

    seed: int = 7
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    start: date = date(2025, 1, 2)
    end: date = date(2025, 12, 31)
    edge_enabled: bool = True
    mean_reversion_strength: float = 0.3
    mean_reversion_half_life: float = 2.0
    trend_strength: float = 0.2
    trend_mean_days: float = 20.0
    # Markov volatility regimes: the high regime multiplies volatility by ``high_vol_multiplier``.
    high_vol_multiplier: float = 2.0
    p_low_to_high: float = 0.04
    p_high_to_low: float = 0.15
    # Poisson jumps in the efficient price: expected count per symbol-year and their size.
    jumps_per_year: float = 6.0
    jump_vol: float = 0.02
    overnight_vol_fraction: float = 0.35  # overnight gap stdev as a fraction of the daily vol
    price_range: tuple[float, float] = (20.0, 400.0)
    vol_range: tuple[float, float] = (0.18, 0.55)
    spread_bps_range: tuple[float, float] = (1.0, 6.0)
    volume_range: tuple[float, float] = (2_000.0, 60_000.0)
    param_overrides: dict[str, SymbolParams] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidValue(f"end {self.end} is before start {self.start}")
        if not self.symbols:
            raise InvalidValue("symbols must not be empty")
        if len(set(self.symbols)) != len(self.symbols):
            raise InvalidValue(f"duplicate symbols in {self.symbols}")
        for name in ("mean_reversion_strength", "trend_strength"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidValue(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("jumps_per_year", "jump_vol"):
            if getattr(self, name) < 0:
                raise InvalidValue(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.mean_reversion_half_life <= 0 or self.trend_mean_days < 1:
            raise InvalidValue("mean_reversion_half_life must be > 0 and trend_mean_days >= 1")
        for name in ("p_low_to_high", "p_high_to_low"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidValue(f"{name} must be a probability, got {getattr(self, name)}")

    def params(self, symbol: str) -> SymbolParams:
        """The characteristics of ``symbol``, derived from ``(seed, symbol)``."""
        if symbol in self.param_overrides:
            return self.param_overrides[symbol]
        u = symbol_rng(self.seed, symbol, "params").random(4)

        def log_uniform(lo_hi: tuple[float, float], x: float) -> float:
            lo, hi = lo_hi
            return float(np.exp(np.log(lo) + x * (np.log(hi) - np.log(lo))))

        return SymbolParams(
            symbol=symbol,
            base_price=round(log_uniform(self.price_range, u[0]), 2),
            annual_vol=log_uniform(self.vol_range, u[1]),
            spread_bps=log_uniform(self.spread_bps_range, u[2]),
            base_volume=log_uniform(self.volume_range, u[3]),
        )
