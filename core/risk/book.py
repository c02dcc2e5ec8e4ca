"""What the account already holds or has working: exits, position keys, reservations, exposure.

An *exit* is a trade every leg of which trades against an existing position without flipping
it, after the quantity that open orders are already working to close; anything else is an entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from core.model import (
    Instrument,
    Money,
    OptionContract,
    Order,
    OrderLeg,
    Position,
    PriceEffect,
    Quantity,
    Suggestion,
)
from core.risk.pricing import combo_max_loss, combo_multiplier, mark
from core.risk.types import RiskContext


def signed(leg: OrderLeg, quantity: Quantity) -> Decimal:
    """The signed change to the position in ``leg``'s instrument (+ buys, − sells)."""
    return leg.side.sign * leg.ratio * quantity.value


def _position(ctx: RiskContext, instrument: Instrument) -> Position | None:
    pos = ctx.positions.get(instrument.id)
    return None if pos is None or pos.is_flat else pos


def _closing_in_flight(ctx: RiskContext, pos: Position) -> Decimal:
    """Quantity of ``pos`` that open orders are already working to close."""
    total = Decimal(0)
    for order in ctx.open_orders:
        if not order.status.is_open:
            continue
        for leg in order.legs:
            delta = signed(leg, order.leaves_quantity)
            if leg.instrument == pos.instrument and delta * pos.net < 0:
                total += abs(delta)
    return total


def _reduces(ctx: RiskContext, legs: Iterable[OrderLeg], qty: Quantity, in_flight: bool) -> bool:
    for leg in legs:
        pos = _position(ctx, leg.instrument)
        delta = signed(leg, qty)
        if pos is None or delta * pos.net >= 0:
            return False
        closable = abs(pos.net) - (_closing_in_flight(ctx, pos) if in_flight else 0)
        if abs(delta) > closable:
            return False
    return True


def is_exit(suggestion: Suggestion, ctx: RiskContext) -> bool:
    """True when ``suggestion`` only reduces or closes positions (after orders in flight)."""
    return _reduces(ctx, suggestion.legs, suggestion.quantity, in_flight=True)


def is_exit_order(order: Order, ctx: RiskContext) -> bool:
    """True when an open ``order`` reduces or closes positions (judged on its own)."""
    return _reduces(ctx, order.legs, order.leaves_quantity, in_flight=False)


def open_entry_orders(ctx: RiskContext) -> list[Order]:
    return [o for o in ctx.open_orders if o.status.is_open and not is_exit_order(o, ctx)]


def position_key(instrument: Instrument) -> str:
    """What counts as one position: an equity, or one underlying and expiry of options.

    Grouping options by underlying and expiry makes a spread or an iron condor one position,
    not two or four.
    """
    if isinstance(instrument, OptionContract):
        return f"{instrument.underlying} {instrument.expiry.isoformat()}"
    return instrument.symbol


def keys_of(legs: Sequence[OrderLeg]) -> set[str]:
    return {position_key(leg.instrument) for leg in legs}


def held_keys(ctx: RiskContext) -> set[str]:
    """Keys of non-flat positions and of open entry orders."""
    keys = {position_key(p.instrument) for p in ctx.positions.values() if not p.is_flat}
    for order in open_entry_orders(ctx):
        keys |= keys_of(order.legs)
    return keys


def order_reservation(order: Order, ctx: RiskContext) -> Money:
    """Buying power an open entry order holds for its unfilled quantity.

    Single leg: price × leaves × multiplier, the price being the limit, else the stop, else the
    quote's mid (a market order without a quote reserves nothing: it fills at once). Multi-leg
    debit: limit × leaves × multiplier. Multi-leg credit: the combination's maximum loss at
    expiry when it can be derived, else limit × leaves × multiplier.
    """
    cur = ctx.currency
    leaves = order.leaves_quantity.value
    if not order.is_multi_leg:
        price = order.limit_price or order.stop_price
        if price is None:
            quote = ctx.quotes.get(order.instrument.id)
            price = quote.mid if quote is not None else None
        if price is None:
            return Money.zero(cur)
        return Money(price.value * leaves * order.instrument.multiplier, cur)
    limit = order.limit_price.value if order.limit_price is not None else Decimal(0)
    fallback = Money(limit * leaves * combo_multiplier(order.legs), cur)
    if order.price_effect is PriceEffect.CREDIT:
        loss = combo_max_loss(order.legs, -limit, cur)
        return loss * leaves if loss is not None else fallback
    return fallback


def reserved_buying_power(ctx: RiskContext) -> tuple[Money, int]:
    """Total reservation of open entry orders, and how many there are."""
    orders = open_entry_orders(ctx)
    total = Money.zero(ctx.currency)
    for order in orders:
        total += order_reservation(order, ctx)
    return total, len(orders)


def exposure(ctx: RiskContext, underlying: str) -> Money:
    """Gross exposure on ``underlying``: Σ |market value| of positions plus open entry orders.

    Positions are marked at the quote's mid when ``ctx.quotes`` has one, else at their average
    price.
    """
    total = Money.zero(ctx.currency)
    for pos in ctx.positions.values():
        if not pos.is_flat and pos.instrument.underlying == underlying:
            price = mark(ctx.quotes.get(pos.instrument.id), pos.avg_price)
            total += abs(Money(price.value * pos.net * pos.multiplier, ctx.currency))
    for order in open_entry_orders(ctx):
        if any(leg.instrument.underlying == underlying for leg in order.legs):
            total += order_reservation(order, ctx)
    return total
