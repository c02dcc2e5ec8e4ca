"""Position sizing: how many units an entry may buy, from the bankroll, risk and capital.

``size_position`` takes the smallest of three quantities:

* risk: the per-trade risk budget (``risk_fraction`` of the bankroll, capped by the risk
  limit's ``max_risk_per_trade``) divided by the stop distance;
* capital: one slot's capital, ``bankroll / max_positions``, but never more than the buying
  power left divided by the free slots (capital freed by exits is re-used this way);
* exposure: the per-symbol exposure limit divided by the entry price;

rounded down to whole units (or to ``fraction_step`` with fractional shares). The stop of an
entry is the strategy's own, else ``atr_stop_multiple`` ATRs from the entry (``stop_price``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from core.errors import InvalidValue

Side = Literal["long", "short"]
ATR_PERIOD = 14


@dataclass(frozen=True, slots=True)
class SizingPolicy:
    """The account's sizing parameters (money in the account currency)."""

    bankroll: Decimal
    max_positions: int
    risk_fraction: Decimal = Decimal("0.01")
    max_risk_per_trade: Decimal | None = None
    max_exposure_per_symbol: Decimal | None = None
    fraction_step: Decimal | None = None
    """``None``: whole units only; else the smallest fractional step (e.g. ``0.0001``)."""

    def __post_init__(self) -> None:
        if self.bankroll <= 0:
            raise InvalidValue(f"bankroll must be positive, got {self.bankroll}")
        if self.max_positions < 1:
            raise InvalidValue(f"max_positions must be at least 1, got {self.max_positions}")
        if not Decimal(0) < self.risk_fraction <= 1:
            raise InvalidValue(f"risk_fraction must be in (0, 1], got {self.risk_fraction}")

    @property
    def risk_budget(self) -> Decimal:
        budget = self.bankroll * self.risk_fraction
        return budget if self.max_risk_per_trade is None else min(budget, self.max_risk_per_trade)


@dataclass(frozen=True, slots=True)
class Sizing:
    """A quantity (zero: do not trade) and why it is what it is."""

    quantity: Decimal
    limited_by: str
    risk: Decimal
    notional: Decimal

    @property
    def tradable(self) -> bool:
        return self.quantity > 0


def size_position(
    policy: SizingPolicy,
    entry: Decimal,
    stop: Decimal,
    buying_power: Decimal,
    open_positions: int,
) -> Sizing:
    """The quantity of an entry at ``entry`` with its protective ``stop``."""
    if entry <= 0:
        raise InvalidValue(f"entry price must be positive, got {entry}")
    distance = abs(entry - stop)
    if distance == 0:
        return Sizing(Decimal(0), "no stop distance", Decimal(0), Decimal(0))
    free_slots = policy.max_positions - open_positions
    if free_slots <= 0:
        return Sizing(Decimal(0), "max positions", Decimal(0), Decimal(0))
    slot = min(policy.bankroll / policy.max_positions, max(buying_power, Decimal(0)) / free_slots)
    caps = {"risk": policy.risk_budget / distance, "capital": slot / entry}
    if policy.max_exposure_per_symbol is not None:
        caps["exposure"] = policy.max_exposure_per_symbol / entry
    limited_by = min(caps, key=lambda k: caps[k])
    quantity = _round_down(caps[limited_by], policy.fraction_step)
    return Sizing(quantity, limited_by, quantity * distance, quantity * entry)


def stop_price(entry: float, side: Side, atr: float | None, multiple: float) -> float | None:
    """``multiple`` ATRs below (long) or above (short) ``entry``; None without a usable ATR."""
    if atr is None or not math.isfinite(atr) or atr <= 0 or multiple <= 0:
        return None
    stop = entry - multiple * atr if side == "long" else entry + multiple * atr
    return stop if stop > 0 else None


def target_price(entry: float, stop: float, reward_risk: float) -> float | None:
    """``reward_risk`` stop distances beyond the entry, on the profitable side."""
    if reward_risk <= 0:
        return None
    target = entry + reward_risk * (entry - stop)
    return target if target > 0 else None


def wilder_atr(
    high: Sequence[float], low: Sequence[float], close: Sequence[float], period: int = ATR_PERIOD
) -> float | None:
    """ATR of the last row, as the intraday feature ``atr`` defines it over one session.

    True range of the first row is ``high - low``; the seed is the mean of the first ``period``
    true ranges, then ``atr_t = atr_{t-1} + (tr_t - atr_{t-1}) / period``. None before the seed.
    """
    n = len(close)
    if n < period:
        return None
    ranges = [high[0] - low[0]]
    for i in range(1, n):
        prev = close[i - 1]
        ranges.append(max(high[i] - low[i], abs(high[i] - prev), abs(low[i] - prev)))
    atr = sum(ranges[:period]) / period
    for tr in ranges[period:]:
        atr += (tr - atr) / period
    return atr


def _round_down(quantity: Decimal, step: Decimal | None) -> Decimal:
    if quantity <= 0:
        return Decimal(0)
    unit = step if step is not None else Decimal(1)
    return (quantity / unit).to_integral_value(rounding=ROUND_FLOOR) * unit
