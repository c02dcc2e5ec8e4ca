"""Prices, risk and buying power of a suggestion, computed from the quotes in the context.

Per-unit prices follow ``Suggestion``: a multi-leg price is per combination, positive, with its
price effect. Money amounts count each instrument's multiplier.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core.model import (
    Money,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderSide,
    Price,
    PriceEffect,
    Quote,
    Suggestion,
)
from core.pricing import natural_credit as natural_credit
from core.risk.types import RiskContext


def mark(quote: Quote | None, fallback: Price) -> Price:
    return quote.mid if quote is not None else fallback


def combo_multiplier(legs: Sequence[OrderLeg]) -> int:
    return max(leg.instrument.multiplier for leg in legs)


def combo_max_loss(legs: Sequence[OrderLeg], net_cost: Decimal, currency: str) -> Money | None:
    """Maximum loss at expiry of one combination costing ``net_cost`` per unit (negative: a credit).

    Only for options on one underlying and one expiry; None otherwise or if the loss is unbounded
    (more calls sold than bought).
    """
    options = [leg.instrument for leg in legs]
    if not all(isinstance(o, OptionContract) for o in options):
        return None
    contracts = [o for o in options if isinstance(o, OptionContract)]
    if len({(o.underlying, o.expiry) for o in contracts}) != 1:
        return None
    mult = combo_multiplier(legs)
    call_slope = sum(
        leg.side.sign * leg.ratio
        for leg, o in zip(legs, contracts, strict=True)
        if o.right is OptionRight.CALL
    )
    if call_slope < 0:
        return None

    def pnl(spot: Decimal) -> Decimal:
        value = Decimal(0)
        for leg, o in zip(legs, contracts, strict=True):
            intrinsic = spot - o.strike if o.right is OptionRight.CALL else o.strike - spot
            value += leg.side.sign * leg.ratio * max(intrinsic, Decimal(0))
        return (value - net_cost) * mult

    # P&L is piecewise linear in the spot with kinks at the strikes, and does not fall beyond
    # the highest strike (call_slope >= 0), so its minimum is at zero or at a strike.
    worst = min(pnl(s) for s in [Decimal(0), *(o.strike for o in contracts)])
    return Money(max(-worst, Decimal(0)), currency)


def single_mid(suggestion: Suggestion, ctx: RiskContext) -> Price | None:
    """The mid of a single-leg suggestion: the quote's, else the suggestion's own."""
    quote = ctx.quotes.get(suggestion.legs[0].instrument.id)
    return quote.mid if quote is not None else suggestion.mid


def single_entry(suggestion: Suggestion, ctx: RiskContext) -> Price | None:
    """Worst-case entry of a single-leg suggestion: the ask to buy, the bid to sell."""
    quote = ctx.quotes.get(suggestion.legs[0].instrument.id)
    if quote is not None:
        return quote.ask if suggestion.legs[0].side is OrderSide.BUY else quote.bid
    return suggestion.natural or suggestion.mid


def single_notional(suggestion: Suggestion, ctx: RiskContext) -> Money | None:
    """Mid × quantity × multiplier of a single-leg suggestion."""
    mid = single_mid(suggestion, ctx)
    if mid is None:
        return None
    mult = suggestion.legs[0].instrument.multiplier * suggestion.legs[0].ratio
    return Money(mid.value * suggestion.quantity.value * mult, ctx.currency)


def _combo_natural(suggestion: Suggestion, ctx: RiskContext) -> Decimal | None:
    """Natural net credit per combination (negative for a debit), from quotes or the suggestion."""
    credit = natural_credit(suggestion.legs, ctx.quotes)
    if credit is not None:
        return credit.value
    price = suggestion.natural or suggestion.mid
    if price is None:
        return None
    return price.value if suggestion.price_effect is PriceEffect.CREDIT else -price.value


def trade_risk(suggestion: Suggestion, ctx: RiskContext) -> Money | None:
    """The most the trade can lose, or None when it cannot be determined.

    ``suggestion.max_risk`` when positive. Otherwise, single leg: (entry − stop) × qty ×
    multiplier when a stop is on the losing side of the worst-case entry; else, for a sold
    option, its maximum loss at expiry (None for a naked call: unbounded); else the notional at
    that entry (for a short sale without a stop a floor: its true risk is unbounded). Multi-leg debit: net natural debit × qty × multiplier. Multi-leg credit: maximum
    loss at expiry net of the natural credit (options on one underlying and expiry only).
    """
    cur = ctx.currency
    if suggestion.max_risk.amount > 0:
        return suggestion.max_risk
    qty = suggestion.quantity.value
    if not suggestion.is_multi_leg:
        entry = single_entry(suggestion, ctx)
        if entry is None:
            return None
        leg = suggestion.legs[0]
        mult = leg.instrument.multiplier * leg.ratio
        if suggestion.stop is not None:
            stop_loss = (entry.value - suggestion.stop.value) * leg.side.sign
            if stop_loss > 0:
                return Money(stop_loss * qty * mult, cur)
        if leg.side is OrderSide.SELL and isinstance(leg.instrument, OptionContract):
            naked = combo_max_loss(suggestion.legs, -entry.value, cur)
            return naked * qty if naked is not None else None
        return Money(entry.value * qty * mult, cur)
    credit = _combo_natural(suggestion, ctx)
    if credit is None:
        return None
    if suggestion.price_effect is PriceEffect.DEBIT:
        return Money(max(-credit, Decimal(0)) * qty * combo_multiplier(suggestion.legs), cur)
    max_loss = combo_max_loss(suggestion.legs, -credit, cur)
    return max_loss * qty if max_loss is not None else None


def required_buying_power(suggestion: Suggestion, ctx: RiskContext) -> Money | None:
    """Buying power the trade needs, or None when it cannot be priced.

    Single leg: mid × qty × multiplier, long or short; for a sale, its risk (``trade_risk``)
    when larger. For a short sale this stands in for the broker's margin requirement.
    Multi-leg: its risk (``trade_risk``): the net debit, or a credit spread's maximum loss.
    """
    if suggestion.is_multi_leg:
        return trade_risk(suggestion, ctx)
    notional = single_notional(suggestion, ctx)
    if notional is None:
        return None
    if suggestion.legs[0].side is OrderSide.SELL:
        risk = trade_risk(suggestion, ctx)
        if risk is not None and risk > notional:
            return risk
    return notional


def new_exposure(suggestion: Suggestion, ctx: RiskContext) -> Money | None:
    """Exposure the trade adds: the notional of a single leg, the risk of a combination."""
    if suggestion.is_multi_leg:
        return trade_risk(suggestion, ctx)
    return single_notional(suggestion, ctx)
