"""Option expiry: what an expiring option position turns into (pure).

* Cash-settled (index) options close at their intrinsic value.
* Physically settled options out of the money close at 0 (expire worthless); in the money
  (intrinsic > 0) a long is exercised and a short assigned: the option closes at 0 and
  ``multiplier × contracts`` shares change hands at the strike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from adapters.brokers.sim.margin import intrinsic
from core.model import Equity, Instrument, OptionContract, OptionRight, OrderSide


@dataclass(frozen=True, slots=True)
class Settlement:
    """One trade that settles an expiring position."""

    instrument: Instrument
    side: OrderSide
    quantity: Decimal
    price: Decimal
    reason: str


def settle(contract: OptionContract, net: Decimal, spot: Decimal) -> list[Settlement]:
    """The trades that settle a position of ``net`` contracts when the underlying is at ``spot``."""
    if net == 0:
        return []
    contracts = abs(net)
    close_side = OrderSide.SELL if net > 0 else OrderSide.BUY
    value = intrinsic(contract, spot)
    if contract.is_cash_settled:
        reason = "cash settled" if value else "expired worthless"
        return [Settlement(contract, close_side, contracts, value, reason)]
    if value == 0:
        return [Settlement(contract, close_side, contracts, Decimal(0), "expired worthless")]
    long = net > 0
    reason = "exercised" if long else "assigned"
    buys_shares = (contract.right is OptionRight.CALL) == long
    shares = Settlement(
        Equity(contract.underlying),
        OrderSide.BUY if buys_shares else OrderSide.SELL,
        contracts * contract.multiplier,
        contract.strike,
        reason,
    )
    return [Settlement(contract, close_side, contracts, Decimal(0), reason), shares]
