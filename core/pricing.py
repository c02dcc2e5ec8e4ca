"""Natural and mid credit of a combination from its legs' quotes (the one implementation).

Natural credit is the bid of each leg sold minus the ask of each leg bought (the price of crossing
every spread), mid credit the same with mids; both per combination, weighted by leg ratios,
positive for a credit and negative for a debit. Risk, execution and strategies all price here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.model import InstrumentId, OrderLeg, OrderSide, Price, PriceEffect, Quote


def leg_credit(leg: OrderLeg, quote: Quote) -> tuple[Decimal, Decimal]:
    """Natural and mid credit of one leg: ``+bid`` (mid) × ratio sold, ``−ask`` (mid) × ratio bought."""
    if leg.side is OrderSide.SELL:
        return quote.bid.value * leg.ratio, quote.mid.value * leg.ratio
    return -(quote.ask.value * leg.ratio), -(quote.mid.value * leg.ratio)


def combo_credit(
    legs: Sequence[OrderLeg], quotes: Mapping[InstrumentId, Quote]
) -> tuple[Decimal, Decimal] | None:
    """Natural and mid credit of ``legs``; None if a quote is missing."""
    natural = mid = Decimal(0)
    for leg in legs:
        quote = quotes.get(leg.instrument.id)
        if quote is None:
            return None
        n, m = leg_credit(leg, quote)
        natural, mid = natural + n, mid + m
    return natural, mid


def natural_credit(legs: Sequence[OrderLeg], quotes: Mapping[InstrumentId, Quote]) -> Price | None:
    """Σ bid × ratio of legs sold − Σ ask × ratio of legs bought; None if a quote is missing."""
    credit = combo_credit(legs, quotes)
    return None if credit is None else Price(credit[0])


@dataclass(frozen=True, slots=True)
class SpreadPricing:
    """Natural and mid price of a combination, signed: positive is a credit, negative a debit.

    ``diagnostics`` has one line per leg (symbol, side, bid, ask) and the totals; ``problems``
    says why the pricing must not be traded on (a missing, crossed or inverted quote, or a
    credit whose natural price is not positive).
    """

    natural_credit: Decimal
    mid_credit: Decimal
    diagnostics: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def price_effect(self) -> PriceEffect:
        return PriceEffect.CREDIT if self.mid_credit > 0 else PriceEffect.DEBIT

    @property
    def natural(self) -> Price:
        """The natural price per combination, positive, in the direction of ``price_effect``."""
        return Price(abs(self.natural_credit))

    @property
    def mid(self) -> Price:
        return Price(abs(self.mid_credit))


def price_spread(legs: Sequence[OrderLeg], quotes: Mapping[InstrumentId, Quote]) -> SpreadPricing:
    """Natural and mid credit of ``legs`` with per-leg diagnostics and the problems found."""
    natural = mid = Decimal(0)
    lines: list[str] = []
    problems: list[str] = []
    for leg in legs:
        iid = leg.instrument.id
        quote = quotes.get(iid)
        role = "short" if leg.side is OrderSide.SELL else "long"
        if quote is None:
            lines.append(f"{role} {iid} x{leg.ratio}: no quote")
            problems.append(f"no quote for {iid}")
            continue
        lines.append(f"{role} {iid} x{leg.ratio}: bid={quote.bid} ask={quote.ask}")
        if quote.bid.value > quote.ask.value:
            problems.append(f"crossed quote for {iid}: bid {quote.bid} > ask {quote.ask}")
        n, m = leg_credit(leg, quote)
        natural, mid = natural + n, mid + m
    lines.append(f"natural credit = {natural}, mid credit = {mid}")
    if not problems:
        if mid == 0:
            problems.append("mid price of the combination is zero: neither a credit nor a debit")
        elif mid > 0 and natural <= 0:
            problems.append(
                f"natural credit {natural} is not positive (bid of short − ask of long):"
                " stale, inverted or swapped quotes?"
            )
    return SpreadPricing(natural, mid, tuple(lines), tuple(problems))
