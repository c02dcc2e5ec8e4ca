"""Pure fill rules: when and at what price a working order fills against a bar or a quote.

Bars (``fill_on = next_bar_open``), conservative because the path inside a bar is unknown:

* market: the bar's open (the exchange adds slippage);
* limit buy: fills if ``low <= limit``, at ``min(open, limit)``; limit sell: ``high >= limit``,
  at ``max(open, limit)``;
* stop buy: triggers if ``high >= stop`` and fills at ``max(open, stop)`` (plus slippage); stop
  sell: ``low <= stop``, at ``min(open, stop)``; a triggered stop is a market order;
* stop-limit: triggers like a stop; fills in the same bar only if the trigger price is within the
  limit (at the trigger price), otherwise it rests as a limit order from the next bar.

Quotes (``fill_on = next_quote``): buys take the ask, sells the bid. A limit fills when the touch
crosses it (at the touch, which is never worse than the limit); a buy stop triggers when the ask
reaches the stop, a sell stop when the bid does.

Combinations fill at their natural price: every sold leg at its bid, every bought leg at its ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from core.model import OrderSide, OrderType, PriceEffect


@dataclass(frozen=True, slots=True)
class BarPrices:
    """A bar as Decimals (bars are floats in the data; fills are money)."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Decision:
    """What one market update does to a working order.

    ``triggered``: the order's stop has been triggered (now or before). ``price``: the fill price
    before slippage, ``None`` for no fill. ``at_market``: the fill is market-like (slippage applies).
    """

    triggered: bool
    price: Decimal | None = None
    at_market: bool = False


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The price terms of a single-leg order that the rules look at."""

    order_type: OrderType
    side: OrderSide
    limit: Decimal | None
    stop: Decimal | None
    triggered: bool


def _limit_bar(side: OrderSide, limit: Decimal, bar: BarPrices) -> Decimal | None:
    if side is OrderSide.BUY:
        return min(bar.open, limit) if bar.low <= limit else None
    return max(bar.open, limit) if bar.high >= limit else None


def match_bar(terms: OrderTerms, bar: BarPrices) -> Decision:
    """The decision for a single-leg order against the next bar."""
    buy = terms.side is OrderSide.BUY
    kind = terms.order_type
    if kind is OrderType.MARKET or (kind is OrderType.STOP and terms.triggered):
        return Decision(terms.triggered, bar.open, at_market=True)
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and terms.triggered):
        assert terms.limit is not None
        return Decision(terms.triggered, _limit_bar(terms.side, terms.limit, bar))
    assert terms.stop is not None
    hit = bar.high >= terms.stop if buy else bar.low <= terms.stop
    if not hit:
        return Decision(False)
    trigger_price = max(bar.open, terms.stop) if buy else min(bar.open, terms.stop)
    if kind is OrderType.STOP:
        return Decision(True, trigger_price, at_market=True)
    assert terms.limit is not None
    within = trigger_price <= terms.limit if buy else trigger_price >= terms.limit
    return Decision(True, trigger_price if within else None)


def match_quote(terms: OrderTerms, bid: Decimal, ask: Decimal) -> Decision:
    """The decision for a single-leg order against the next quote."""
    buy = terms.side is OrderSide.BUY
    touch = ask if buy else bid
    kind = terms.order_type
    triggered = terms.triggered
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
        assert terms.stop is not None
        triggered = touch >= terms.stop if buy else touch <= terms.stop
        if not triggered:
            return Decision(False)
    if kind in (OrderType.MARKET, OrderType.STOP):
        return Decision(triggered, touch, at_market=True)
    assert terms.limit is not None
    crosses = touch <= terms.limit if buy else touch >= terms.limit
    return Decision(triggered, touch if crosses else None)


@dataclass(frozen=True, slots=True)
class LegQuote:
    """One leg of a combination with the touch it would trade at."""

    side: OrderSide
    ratio: int
    bid: Decimal
    ask: Decimal

    @property
    def natural(self) -> Decimal:
        """The price this leg trades at: the bid when sold, the ask when bought."""
        return self.bid if self.side is OrderSide.SELL else self.ask


def natural_credit(legs: Sequence[LegQuote]) -> Decimal:
    """Net credit of one combination at the natural prices (negative: a debit)."""
    return sum((leg.side.sign * -1 * leg.ratio * leg.natural for leg in legs), Decimal(0))


def combo_crosses(effect: PriceEffect, limit: Decimal, credit: Decimal) -> bool:
    """Whether a combination limit is reached: credit ``>= limit``, or debit ``<= limit``."""
    if effect is PriceEffect.CREDIT:
        return credit >= limit
    return -credit <= limit


def fillable(leaves: Decimal, capacity: Decimal | None) -> Decimal:
    """How much of ``leaves`` fills given ``capacity`` (``None``: unlimited).

    All of it if the capacity covers it, otherwise the capacity rounded down to whole units, so
    options always trade whole contracts and a thin bar gives nothing rather than a sliver.
    """
    if capacity is None or capacity >= leaves:
        return leaves
    return max(capacity.to_integral_value(ROUND_FLOOR), Decimal(0))
