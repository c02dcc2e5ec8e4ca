"""Fill rules and costs of the backtester, in floats (the engine's hot path avoids ``Decimal``).

The convention is the simulated exchange's ``next_bar_open``: a market order sent after a bar's
close fills at the next bar's open, moved against the taker by ``slippage`` (a fraction).
Protective exits are judged on each bar's high and low from the entry bar on, with the
exchange's own rules (``adapters.brokers.sim.matching.match_bar``):

* a stop is a stop order: it fills at the stop, or at the open if the bar gapped through it
  (worse than the stop); slippage applies (a triggered stop is a market order);
* a target is a limit order: it fills at the target, or at the open if the bar opened beyond
  it; no slippage;
* when one bar touches both, the stop wins: the bar's path is unknown, so assume the worst.

Commissions are callables ``(symbol, signed size, price) -> cash`` so the same engine runs with
a plain rate (backtesting.py parity) or with the simulated exchange's own models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from adapters.brokers.sim.fees import CommissionModel, FeeModel, NoFees, percent_of_notional, slipped
from adapters.brokers.sim.matching import BarPrices, OrderTerms, match_bar
from core.model import Equity, Money, OrderSide, OrderType

F64 = npt.NDArray[np.float64]


class Commission(Protocol):
    def __call__(self, symbol: str, size: float, price: float) -> float:
        """Cash charged for a fill of ``size`` units (negative: a sell) at ``price``."""
        ...


@dataclass(frozen=True, slots=True)
class RelativeCommission:
    """``fixed`` per fill plus ``rate`` of the notional (backtesting.py's ``commission``).

    The float form of the simulated exchange's ``PercentCommission`` (unrounded, for parity).
    """

    rate: float = 0.0
    fixed: float = 0.0

    def __call__(self, symbol: str, size: float, price: float) -> float:
        return percent_of_notional(abs(size), price, self.rate, self.fixed)


@cache
def _equity(symbol: str) -> Equity:
    return Equity(symbol)


@dataclass(frozen=True, slots=True)
class SimCommission:
    """The simulated exchange's commission plus fee models, priced in floats.

    Each fill is treated as a whole order (a per-order minimum is charged on every fill).
    """

    commission: CommissionModel
    fees: FeeModel = field(default_factory=NoFees)

    def __call__(self, symbol: str, size: float, price: float) -> float:
        instrument = _equity(symbol)
        quantity, px = Decimal(repr(abs(size))), Decimal(repr(price))
        side = OrderSide.BUY if size > 0 else OrderSide.SELL
        charged = self.commission.commission(instrument, quantity, px, Money.zero())
        return float(charged.amount + self.fees.fees(instrument, side, quantity, px).amount)


def market_price(open_: float, is_buy: bool, slippage: float) -> float:
    """A market order's fill at ``open_`` moved against the taker by ``slippage``."""
    return slipped(open_, 1 if is_buy else -1, slippage)


def market_prices(prices: F64, is_buy: npt.NDArray[np.bool_], slippage: float) -> F64:
    """``market_price`` elementwise: the same float operations, so the same results."""
    if not slippage:
        return prices  # price * (1 + 0.0) is price
    signs = np.where(is_buy, 1, -1)
    return cast(F64, slipped(cast(Any, prices), cast(Any, signs), slippage))


def _bar(open_: float, high: float, low: float) -> BarPrices:
    o, h, lo = (Decimal(repr(x)) for x in (open_, high, low))
    return BarPrices(o, h, lo, o, Decimal(0))


def protective_exit(
    is_long: bool, stop: float, target: float, open_: F64, high: F64, low: F64, slippage: float
) -> tuple[int, float, bool, str] | None:
    """The first bar (index into the arrays) where ``stop`` or ``target`` (NaN: none) fills.

    Returns ``(index, price, at_open, reason)`` or ``None``. The arrays start at the entry bar.
    numpy finds the bar; the simulated exchange's ``match_bar`` prices it (a stop order, or a
    limit order for the target, on the closing side).
    """
    with np.errstate(invalid="ignore"):
        if is_long:
            stop_hit, target_hit = low <= stop, high >= target
        else:
            stop_hit, target_hit = high >= stop, low <= target
    hit = stop_hit | target_hit
    if not hit.any():
        return None
    k = int(hit.argmax())
    side = OrderSide.SELL if is_long else OrderSide.BUY
    is_stop = bool(stop_hit[k])
    level = Decimal(repr(stop if is_stop else target))
    terms = OrderTerms(
        order_type=OrderType.STOP if is_stop else OrderType.LIMIT,
        side=side,
        limit=None if is_stop else level,
        stop=level if is_stop else None,
        triggered=False,
    )
    decision = match_bar(terms, _bar(float(open_[k]), float(high[k]), float(low[k])))
    assert decision.price is not None
    price = float(decision.price)
    if decision.at_market:
        price = market_price(price, not is_long, slippage)
    return k, price, float(decision.price) == float(open_[k]), "stop" if is_stop else "target"
