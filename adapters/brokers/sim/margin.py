"""Equity, buying power and the buying power an order needs.

* Cash account: ``buying power = cash - option requirement - held by open orders``; opening a
  short stock position is refused.
* Margin account: ``buying power = m × (equity - long option value) - gross stock value -
  option requirement - held by open orders`` with ``m`` the configured multiplier: stock is
  bought on margin, options are paid in full.
* Option requirement: for every (underlying, expiry) group of option positions, the worst
  loss at expiry over underlying prices 0, each strike and twice the highest strike (a proxy
  for unbounded naked calls). A vertical credit spread holds its width; with the credit
  already in cash, it costs its max loss, ``width - credit``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from adapters.brokers.sim.state import AccountState
from core.model import Equity, InstrumentId, OptionContract, OptionRight, Order, OrderSide, PriceEffect

Marks = dict[InstrumentId, Decimal]


def intrinsic(contract: OptionContract, spot: Decimal) -> Decimal:
    """The value of one unit (before the multiplier) of ``contract`` at expiry at ``spot``."""
    if contract.right is OptionRight.CALL:
        return max(spot - contract.strike, Decimal(0))
    return max(contract.strike - spot, Decimal(0))


def option_requirement(holdings: Iterable[tuple[OptionContract, Decimal]]) -> Decimal:
    """Worst loss at expiry of the signed option ``holdings``, summed over (underlying, expiry)."""
    groups: dict[tuple[str, date], list[tuple[OptionContract, Decimal]]] = defaultdict(list)
    for contract, net in holdings:
        if net:
            groups[(contract.underlying, contract.expiry)].append((contract, net))
    total = Decimal(0)
    for members in groups.values():
        strikes = {c.strike for c, _ in members}
        spots = {Decimal(0), 2 * max(strikes), *strikes}
        worst = min(
            sum((net * c.multiplier * intrinsic(c, s) for c, net in members), Decimal(0)) for s in spots
        )
        total += max(-worst, Decimal(0))
    return total


def _mark(marks: Marks, account: AccountState, iid: InstrumentId) -> Decimal:
    return marks.get(iid, account.positions[iid].avg_price.value)


def equity(account: AccountState, marks: Marks) -> Decimal:
    """Cash plus the signed market value of every position at its last price."""
    value = account.cash.amount
    for iid, pos in account.positions.items():
        value += pos.net * pos.multiplier * _mark(marks, account, iid)
    return value


def _option_holdings(account: AccountState) -> list[tuple[OptionContract, Decimal]]:
    return [
        (p.instrument, p.net) for p in account.positions.values() if isinstance(p.instrument, OptionContract)
    ]


def buying_power(account: AccountState, marks: Marks, multiplier: Decimal, held: Decimal) -> Decimal:
    """Buying power left after positions and ``held`` (the reserve of open orders)."""
    requirement = option_requirement(_option_holdings(account))
    if not account.margin:
        return account.cash.amount - requirement - held
    stock_gross = Decimal(0)
    long_options = Decimal(0)
    for iid, pos in account.positions.items():
        value = pos.net * pos.multiplier * _mark(marks, account, iid)
        if isinstance(pos.instrument, Equity):
            stock_gross += abs(value)
        elif pos.net > 0:
            long_options += value
    return multiplier * (equity(account, marks) - long_options) - stock_gross - requirement - held


@dataclass(frozen=True, slots=True)
class Requirement:
    """Buying power an order needs, or why it cannot be placed at all."""

    amount: Decimal
    refusal: str = ""


def order_requirement(
    account: AccountState, order: Order, prices: dict[InstrumentId, Decimal]
) -> Requirement:
    """Buying power ``order`` needs for its whole quantity, priced at ``prices`` (per leg)."""
    qty = order.quantity.value
    if not order.is_option_order:
        leg = order.legs[0]
        price = prices[leg.instrument.id]
        if leg.side is OrderSide.BUY:
            return Requirement(price * qty)
        held = max(account.position(leg.instrument).net, Decimal(0))
        opening_short = max(qty - held, Decimal(0))
        if opening_short and not account.margin:
            return Requirement(Decimal(0), "short selling needs a margin account")
        return Requirement(price * opening_short)
    holdings = dict(_option_holdings(account))
    before = option_requirement(holdings.items())
    premium_paid = Decimal(0)
    for leg in order.legs:
        if not isinstance(leg.instrument, OptionContract):
            return Requirement(Decimal(0), "multi-leg orders mixing stock and options are not supported")
        units = leg.side.sign * leg.ratio * qty
        holdings[leg.instrument] = holdings.get(leg.instrument, Decimal(0)) + units
        premium_paid += units * prices[leg.instrument.id] * leg.instrument.multiplier
    if order.is_multi_leg and order.limit_price is not None and order.price_effect is not None:
        sign = 1 if order.price_effect is PriceEffect.DEBIT else -1
        premium_paid = sign * order.limit_price.value * qty * order.legs[0].instrument.multiplier
    delta = option_requirement(holdings.items()) - before
    return Requirement(max(delta + premium_paid, Decimal(0)))
