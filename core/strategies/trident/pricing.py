"""Pricing a Trident from cached quotes: natural and mid credit per spread and in total.

Natural credit of a vertical is the bid of the short minus the ask of the long (what crossing
both spreads pays); mid credit the same with mids. The Trident is refused, with diagnostics,
when a quote is missing, older than the limit or crossed, or when the put, the call or the total
natural credit is not positive (stale, inverted or swapped quotes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from core.errors import TemporaryError
from core.model import InstrumentId, OptionContract, OrderLeg, OrderSide, Price, Quote
from core.pricing import combo_credit
from core.strategies.trident.config import TridentConfig
from core.strategies.trident.selection import TridentStrikes

log = logging.getLogger(__name__)


class QuoteSource(Protocol):
    """Latest quote per instrument, however old (``QuoteCache`` and a plain dict fit)."""

    def get(self, instrument_id: InstrumentId, /) -> Quote | None: ...


@dataclass(frozen=True, slots=True)
class LegDiagnostic:
    """One leg as priced: symbols, bid and ask (``None`` without a quote) and the quote's age."""

    role: str
    occ: str
    streamer_symbol: str
    bid: Decimal | None
    ask: Decimal | None
    age_s: float | None

    def line(self) -> str:
        if self.bid is None:
            return f"  {self.role}: {self.occ} | no quote"
        return f"  {self.role}: {self.occ} | bid={self.bid}, ask={self.ask}, age={self.age_s:.1f}s"


@dataclass(frozen=True, slots=True)
class SpreadCredit:
    """One vertical's credit per spread: ``natural = short_bid − long_ask``, mid likewise."""

    name: str
    short_bid: Decimal
    long_ask: Decimal
    natural: Decimal
    mid: Decimal

    def line(self) -> str:
        return (
            f"{self.name.upper()} SPREAD: short_{self.name} bid=${self.short_bid}, long_{self.name} "
            f"ask=${self.long_ask} → {self.name}_credit = {self.short_bid} - {self.long_ask} = "
            f"${self.natural} (mid ${self.mid})"
        )


@dataclass(frozen=True, slots=True)
class PricingDiagnostics:
    """What one attempt saw: the strikes, every leg's quote, the credit arithmetic, the problems."""

    attempt: int
    at: datetime
    strikes: TridentStrikes | None = None
    legs: tuple[LegDiagnostic, ...] = ()
    put: SpreadCredit | None = None
    call: SpreadCredit | None = None
    total_natural: Decimal | None = None
    total_mid: Decimal | None = None
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The seed's diagnostic log: symbols and quotes per leg, then the credit arithmetic."""
        out = [f"PRICING DIAGNOSTIC attempt {self.attempt} at {self.at.isoformat()}"]
        if self.strikes is not None:
            out.append(f"  {self.strikes.label} (spot {self.strikes.spot}, {self.strikes.dte} DTE)")
        out += [leg.line() for leg in self.legs]
        out += [s.line() for s in (self.put, self.call) if s is not None]
        if self.total_natural is not None:
            out.append(f"TOTAL: natural credit ${self.total_natural}, mid credit ${self.total_mid}")
        out += [f"INVALID: {p}" for p in self.problems]
        return out

    def payload(self) -> dict[str, Any]:
        """A JSON-able form for the ledger's event log."""
        return {
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "strikes": self.strikes.label if self.strikes else None,
            "legs": [
                {"role": g.role, "occ": g.occ, "bid": _s(g.bid), "ask": _s(g.ask), "age_s": g.age_s}
                for g in self.legs
            ],
            "put_credit": _s(self.put.natural) if self.put else None,
            "call_credit": _s(self.call.natural) if self.call else None,
            "total_natural": _s(self.total_natural),
            "total_mid": _s(self.total_mid),
            "problems": list(self.problems),
        }


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class TridentPricing:
    """A valid pricing: the combination's legs, their quotes and the credits per combination."""

    strikes: TridentStrikes
    legs: tuple[OrderLeg, ...]
    quotes: dict[InstrumentId, Quote]
    natural: Price
    mid: Price
    quotes_ts: datetime
    diagnostics: PricingDiagnostics


def trident_legs(strikes: TridentStrikes, config: TridentConfig) -> tuple[OrderLeg, ...]:
    """One combination: ``put_spreads`` put verticals and ``call_spreads`` call verticals."""
    p, c = config.put_spreads, config.call_spreads
    return (
        OrderLeg(strikes.short_put, OrderSide.SELL, p),
        OrderLeg(strikes.long_put, OrderSide.BUY, p),
        OrderLeg(strikes.short_call, OrderSide.SELL, c),
        OrderLeg(strikes.long_call, OrderSide.BUY, c),
    )


def read_quotes(
    roles: Sequence[tuple[str, OptionContract]], source: QuoteSource, now: datetime, max_age_s: float
) -> tuple[dict[InstrumentId, Quote], tuple[LegDiagnostic, ...], list[str]]:
    """Quotes of the contracts with per-leg diagnostics, and the problems (missing, stale, crossed)."""
    quotes: dict[InstrumentId, Quote] = {}
    legs: list[LegDiagnostic] = []
    problems: list[str] = []
    for role, contract in roles:
        try:
            quote = source.get(contract.id)
        except TemporaryError as exc:  # an unreachable cache is a missing quote
            quote = None
            problems.append(f"quote cache unavailable for {role} {contract.occ}: {exc}")
        if quote is None:
            legs.append(LegDiagnostic(role, contract.occ, contract.streamer_symbol, None, None, None))
            problems.append(f"no quote for {role} {contract.occ}")
            continue
        age = quote.age_seconds(now)
        legs.append(
            LegDiagnostic(role, contract.occ, contract.streamer_symbol, quote.bid.value, quote.ask.value, age)
        )
        quotes[contract.id] = quote
        if quote.is_stale(now, max_age_s):
            problems.append(f"{role} {contract.occ} quote is {age:.1f}s old (limit {max_age_s:g}s)")
        if quote.bid > quote.ask:
            problems.append(f"{role} {contract.occ} quote is crossed: bid {quote.bid} > ask {quote.ask}")
    return quotes, tuple(legs), problems


def _spread(
    name: str, short: OptionContract, long: OptionContract, quotes: dict[InstrumentId, Quote]
) -> SpreadCredit | None:
    credit = combo_credit((OrderLeg(short, OrderSide.SELL), OrderLeg(long, OrderSide.BUY)), quotes)
    if credit is None:
        return None
    return SpreadCredit(name, quotes[short.id].bid.value, quotes[long.id].ask.value, *credit)


def price_trident(
    strikes: TridentStrikes, source: QuoteSource, now: datetime, config: TridentConfig, attempt: int = 1
) -> tuple[TridentPricing | None, PricingDiagnostics]:
    """Price ``strikes`` from ``source`` at ``now``; the pricing is ``None`` when refused."""
    roles = [
        ("short_put", strikes.short_put),
        ("long_put", strikes.long_put),
        ("short_call", strikes.short_call),
        ("long_call", strikes.long_call),
    ]
    quotes, leg_diags, problems = read_quotes(roles, source, now, config.max_quote_age_s)
    put = _spread("put", strikes.short_put, strikes.long_put, quotes)
    call = _spread("call", strikes.short_call, strikes.long_call, quotes)
    total_natural = total_mid = None
    if put is not None and call is not None:
        total_natural = put.natural * config.put_spreads + call.natural * config.call_spreads
        total_mid = put.mid * config.put_spreads + call.mid * config.call_spreads
        for label, value in (("put", put.natural), ("call", call.natural), ("total", total_natural)):
            if value <= 0:
                problems.append(f"{label} credit ${value} is not positive (must be a credit)")
    diagnostics = PricingDiagnostics(
        attempt, now, strikes, leg_diags, put, call, total_natural, total_mid, tuple(problems)
    )
    if problems or total_natural is None or total_mid is None:
        log.error("INVALID PRICING DETECTED\n%s", "\n".join(diagnostics.lines()))
        return None, diagnostics
    log.info("Trident priced\n%s", "\n".join(diagnostics.lines()))
    pricing = TridentPricing(
        strikes,
        trident_legs(strikes, config),
        quotes,
        Price(total_natural),
        Price(total_mid),
        min(q.ts for q in quotes.values()),
        diagnostics,
    )
    return pricing, diagnostics
