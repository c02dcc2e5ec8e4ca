"""The pre-trade rules. Each is a pure function returning None (pass) or a specific reason.

``RiskRule`` pairs a function with its stable name and whether it also applies to exits
(trades that only reduce or close positions). Rules that guard data quality apply to every
trade; rules that limit new risk apply to entries only, so that a position can always be
flattened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import RaydeskError
from core.model import OrderSide, Price, PriceEffect, Suggestion
from core.risk import book, pricing
from core.risk.types import RiskContext, RiskDecision, RiskLimits

RuleCheck = Callable[[Suggestion, RiskContext, RiskLimits], str | None]


@dataclass(frozen=True, slots=True)
class RiskRule:
    """A named pre-trade rule."""

    name: str
    check: RuleCheck
    applies_to_exits: bool

    def evaluate(self, suggestion: Suggestion, ctx: RiskContext, limits: RiskLimits) -> RiskDecision | None:
        """A denial, or None when the rule passes. A rule that cannot be evaluated denies."""
        try:
            reason = self.check(suggestion, ctx, limits)
        except (RaydeskError, TypeError, ArithmeticError) as exc:
            reason = f"rule could not be evaluated: {exc}"
        return None if reason is None else RiskDecision.deny(self.name, reason)


def _px(price: Price) -> str:
    return format(price.value, "f")


def kill_switch(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    if not ctx.halted:
        return None
    return f"trading halted ({ctx.halt_reason or 'kill switch engaged'}); only exits are allowed"


def blackout(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """No entry in an underlying blacked out today (earnings, see ``core.earnings``)."""
    for leg in s.legs:
        reason = ctx.blackout.get(leg.instrument.underlying)
        if reason is not None:
            return f"{leg.instrument.underlying} is blacked out: {reason}"
    return None


def market_closed(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    return None if ctx.market_open else f"market is closed at {ctx.now.isoformat()}"


def stale_quote(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """Every leg needs a quote at most ``stale_quote_seconds`` old (exactly the limit is fresh)."""
    max_age = limits.stale_quote_seconds
    if s.quotes_ts is not None and (age := (ctx.now - s.quotes_ts).total_seconds()) > max_age:
        return f"suggestion priced from quotes {age:.3f} s old (limit {max_age:g} s)"
    for leg in s.legs:
        quote = ctx.quotes.get(leg.instrument.id)
        if quote is None:
            return f"no quote for {leg.instrument}"
        if quote.is_stale(ctx.now, max_age):
            return (
                f"quote for {leg.instrument} is {quote.age_seconds(ctx.now):.3f} s old (limit {max_age:g} s)"
            )
    return None


def crossed_quote(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    for leg in s.legs:
        quote = ctx.quotes.get(leg.instrument.id)
        if quote is not None and quote.is_crossed_or_locked:
            kind = "locked" if quote.bid == quote.ask else "crossed"
            return f"quote for {leg.instrument} is {kind}: bid {_px(quote.bid)} >= ask {_px(quote.ask)}"
    return None


def non_positive_credit(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """A multi-leg credit must be a credit at the natural prices (missing quotes: stale_quote)."""
    if not s.is_multi_leg or s.price_effect is not PriceEffect.CREDIT:
        return None
    if s.natural is not None and s.natural.value <= 0:
        return f"suggested natural credit {_px(s.natural)} is not positive"
    credit = pricing.natural_credit(s.legs, ctx.quotes)
    if credit is not None and credit.value <= 0:
        return f"natural credit {_px(credit)} from the quotes is not positive"
    return None


def short_not_allowed(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """With ``allow_short`` off, a single-leg sell may only reduce a long position."""
    if limits.allow_short or s.is_multi_leg or s.legs[0].side is not OrderSide.SELL:
        return None
    return f"selling {s.quantity} {s.legs[0].instrument} would open a short position; shorts are not allowed"


def daily_loss_limit(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    floor = -limits.daily_loss_limit
    if ctx.daily_pnl > floor:
        return None
    return f"daily P&L {ctx.daily_pnl} is at or below the loss limit of {floor}"


def max_risk_per_trade(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    risk = pricing.trade_risk(s, ctx)
    if risk is None:
        return "max risk cannot be determined: no max_risk given and no usable quotes"
    if risk > limits.max_risk_per_trade:
        return f"max risk {risk} exceeds limit {limits.max_risk_per_trade}"
    return None


def buying_power(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    required = pricing.required_buying_power(s, ctx)
    if required is None:
        return "required buying power cannot be determined: no usable quotes or prices"
    reserved, count = book.reserved_buying_power(ctx)
    available = ctx.balance.buying_power - reserved
    if required <= available:
        return None
    return (
        f"required buying power {required} exceeds available {available} "
        f"(buying power {ctx.balance.buying_power} minus {reserved} reserved by {count} open order(s))"
    )


def max_open_positions(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """Adding to a position already held does not open a new one."""
    held = book.held_keys(ctx)
    new = book.keys_of(s.legs) - held
    if not new or len(held) + len(new) <= limits.max_open_positions:
        return None
    return (
        f"would hold {len(held) + len(new)} open positions ({len(held)} held or pending + "
        f"{', '.join(sorted(new))}), limit {limits.max_open_positions}"
    )


def max_exposure_per_symbol(s: Suggestion, ctx: RiskContext, limits: RiskLimits) -> str | None:
    added = pricing.new_exposure(s, ctx)
    if added is None:
        return "exposure cannot be determined: no usable quotes or prices"
    for underlying in sorted({leg.instrument.underlying for leg in s.legs}):
        existing = book.exposure(ctx, underlying)
        if existing + added > limits.max_exposure_per_symbol:
            return (
                f"exposure on {underlying} would be {existing + added} ({existing} existing + "
                f"{added} new), limit {limits.max_exposure_per_symbol}"
            )
    return None


DEFAULT_RULES: tuple[RiskRule, ...] = (
    RiskRule("kill_switch", kill_switch, applies_to_exits=False),
    RiskRule("market_closed", market_closed, applies_to_exits=True),
    RiskRule("blackout", blackout, applies_to_exits=False),
    RiskRule("stale_quote", stale_quote, applies_to_exits=True),
    RiskRule("crossed_quote", crossed_quote, applies_to_exits=True),
    RiskRule("non_positive_credit", non_positive_credit, applies_to_exits=True),
    RiskRule("short_not_allowed", short_not_allowed, applies_to_exits=False),
    RiskRule("max_risk_per_trade", max_risk_per_trade, applies_to_exits=False),
    RiskRule("buying_power", buying_power, applies_to_exits=False),
    RiskRule("max_open_positions", max_open_positions, applies_to_exits=False),
    RiskRule("max_exposure_per_symbol", max_exposure_per_symbol, applies_to_exits=False),
    RiskRule("daily_loss_limit", daily_loss_limit, applies_to_exits=False),
)
"""The rules in the order ``RiskEngine.check`` applies them."""
