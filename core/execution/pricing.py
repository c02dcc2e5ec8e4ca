"""Entry limit prices: an offset from mid, never worse than the natural price.

* Credit (a multi-leg order we are paid for): ``mid − offset``, floored at the natural credit.
* Debit (a multi-leg order we pay for): ``mid + offset``, capped at the natural debit.
* Single-leg buy: ``mid + offset``, capped at the ask. Single-leg sell: ``mid − offset``, floored
  at the bid.

The offset buys a better chance of a fill; the bound keeps it from paying more (or receiving
less) than crossing the spread would. Example: mid credit 4.10, offset 4¢, natural 3.86 → 4.06;
an offset of 50¢ where mid is only 20¢ above natural → the natural credit.

Natural and mid credit of a combination come from ``core.pricing.price_spread`` (re-exported).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.errors import InvalidValue
from core.model import InstrumentId, OrderSide, Price, PriceEffect, Quote, Suggestion
from core.model.values import CENT
from core.pricing import SpreadPricing as SpreadPricing
from core.pricing import price_spread as price_spread


def offset_amount(offset_cents: int) -> Price:
    if offset_cents < 0:
        raise InvalidValue(f"entry offset must not be negative, got {offset_cents} cents")
    return Price(Decimal(offset_cents) * CENT)


def entry_limit_credit(mid: Price, natural: Price, offset_cents: int, tick: Decimal = CENT) -> Price:
    """Limit of a credit order: ``mid − offset`` rounded to ``tick``, floored at ``natural``."""
    return max((mid - offset_amount(offset_cents)).round_to(tick), natural)


def entry_limit_debit(mid: Price, natural: Price, offset_cents: int, tick: Decimal = CENT) -> Price:
    """Limit of a debit order: ``mid + offset`` rounded to ``tick``, capped at ``natural``."""
    return min((mid + offset_amount(offset_cents)).round_to(tick), natural)


def entry_limit_buy(mid: Price, ask: Price, offset_cents: int, tick: Decimal = CENT) -> Price:
    """Limit of a single-leg buy: ``mid + offset``, capped at the ask."""
    return entry_limit_debit(mid, ask, offset_cents, tick)


def entry_limit_sell(mid: Price, bid: Price, offset_cents: int, tick: Decimal = CENT) -> Price:
    """Limit of a single-leg sell: ``mid − offset``, floored at the bid."""
    return entry_limit_credit(mid, bid, offset_cents, tick)


def entry_limit(
    suggestion: Suggestion, offset_cents: int, quotes: Mapping[InstrumentId, Quote], tick: Decimal = CENT
) -> Price:
    """The entry limit of ``suggestion``.

    Uses the suggestion's ``mid`` and ``natural`` (what the strategy and the risk check saw) and
    falls back to the quotes: the leg's bid or ask for a single leg, ``price_spread`` for a
    combination. Raises ``InvalidValue`` when no usable price exists or the limit is not positive.
    """
    mid, natural = suggestion.mid, suggestion.natural
    if suggestion.is_multi_leg:
        effect = suggestion.price_effect
        if mid is None or natural is None:
            spread = price_spread(suggestion.legs, quotes)
            if not spread.valid:
                raise InvalidValue("cannot price combination: " + "; ".join(spread.problems))
            mid, natural, effect = mid or spread.mid, natural or spread.natural, spread.price_effect
        if effect is PriceEffect.CREDIT:
            limit = entry_limit_credit(mid, natural, offset_cents, tick)
        else:
            limit = entry_limit_debit(mid, natural, offset_cents, tick)
    else:
        quote = quotes.get(suggestion.instrument.id)
        buy = suggestion.side is OrderSide.BUY
        if natural is None and quote is not None:
            natural = quote.ask if buy else quote.bid
        if mid is None and quote is not None:
            mid = quote.mid
        if mid is None or natural is None:
            raise InvalidValue(f"no mid or natural price for {suggestion.instrument.id} and no quote")
        limit = (entry_limit_buy if buy else entry_limit_sell)(mid, natural, offset_cents, tick)
    if limit.value <= 0:
        raise InvalidValue(f"entry limit {limit} is not positive (mid {mid}, natural {natural})")
    return limit
