"""Strike and expiry selection of the Senex Trident, from a listed option chain.

* Expiry: the listed expiry whose calendar days to expiry (from the session date) is nearest
  ``target_dte``; on a tie the later one (more time for the credit to decay).
* Short strikes (put and call share one): the spot rounded to the nearest multiple of
  ``strike_rounding``, halves up. With 2 (QQQ) every spot in [621, 623) gives 622.
* Wings: long put at short − ``wing_width``, long call at short + ``wing_width``
  (622/619 puts, 622/625 calls).

A chain is usable only if all four strikes are listed in the chosen expiry; otherwise the next
configured underlying is tried (the expiry is never moved to make strikes fit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from core.errors import RaydeskError
from core.model import OptionContract, OptionRight
from core.model.market import OptionQuote
from core.strategies.trident.config import UnderlyingSpec


class ChainSource(Protocol):
    """Listed options of an underlying (``MarketData.option_chain`` fits)."""

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]: ...


@dataclass(frozen=True, slots=True)
class TridentStrikes:
    """The four contracts of a Trident and the spot they were chosen at."""

    underlying: str
    expiry: date
    dte: int
    spot: Decimal
    short_put: OptionContract
    long_put: OptionContract
    short_call: OptionContract
    long_call: OptionContract

    @property
    def label(self) -> str:
        """``QQQ 2025-12-19 622P/619P 622C/625C``."""
        return (
            f"{self.underlying} {self.expiry.isoformat()} {self.short_put.strike}P/{self.long_put.strike}P "
            f"{self.short_call.strike}C/{self.long_call.strike}C"
        )


def round_strike(spot: Decimal, rounding: Decimal) -> Decimal:
    """``spot`` rounded to the nearest multiple of ``rounding``, halves up (621.3, 2 → 622)."""
    return (spot / rounding).quantize(Decimal(1), ROUND_HALF_UP) * rounding


def nearest_expiry(expiries: Sequence[date], session: date, target_dte: int) -> date | None:
    """The expiry after ``session`` nearest ``target_dte`` days away; ties go to the later one."""
    future = [e for e in expiries if e > session]
    if not future:
        return None
    return min(future, key=lambda e: (abs((e - session).days - target_dte), -e.toordinal()))


def select_strikes(
    chain: Sequence[OptionQuote], spec: UnderlyingSpec, session: date, target_dte: int
) -> TridentStrikes | str:
    """The Trident's contracts in ``chain``, or why the chain is not usable."""
    contracts = [q.contract for q in chain if not spec.root or q.contract.root == spec.root]
    if not contracts:
        return f"{spec.symbol}: empty option chain"
    spot = Decimal(repr(chain[0].underlying_price))
    if spot <= 0:
        return f"{spec.symbol}: no underlying price in the chain"
    expiry = nearest_expiry(sorted({c.expiry for c in contracts}), session, target_dte)
    if expiry is None:
        return f"{spec.symbol}: no expiry after {session.isoformat()}"
    listed: dict[tuple[OptionRight, Decimal], OptionContract] = {}
    for c in contracts:
        if c.expiry == expiry:
            listed.setdefault((c.right, c.strike), c)
    short = round_strike(spot, spec.strike_rounding)
    wanted = {
        "short_put": (OptionRight.PUT, short),
        "long_put": (OptionRight.PUT, short - spec.wing_width),
        "short_call": (OptionRight.CALL, short),
        "long_call": (OptionRight.CALL, short + spec.wing_width),
    }
    found = {role: listed.get(key) for role, key in wanted.items()}
    missing = [f"{k[1]}{k[0].value}" for role, k in wanted.items() if found[role] is None]
    if missing:
        return f"{spec.symbol} {expiry.isoformat()}: strikes not listed: {', '.join(missing)} (spot {spot})"
    sp, lp, sc, lc = (found[r] for r in ("short_put", "long_put", "short_call", "long_call"))
    assert sp is not None and lp is not None and sc is not None and lc is not None
    return TridentStrikes(spec.symbol, expiry, (expiry - session).days, spot, sp, lp, sc, lc)


def choose(
    source: ChainSource,
    specs: Sequence[UnderlyingSpec],
    at: datetime,
    session: date,
    target_dte: int,
) -> TridentStrikes | list[str]:
    """The first underlying in ``specs`` with a usable chain, or why none was usable."""
    reasons: list[str] = []
    for spec in specs:
        try:
            chain = source.option_chain(spec.symbol, at)
        except RaydeskError as exc:
            reasons.append(f"{spec.symbol}: no option chain ({exc})")
            continue
        picked = select_strikes(chain, spec, session, target_dte)
        if isinstance(picked, TridentStrikes):
            return picked
        reasons.append(picked)
    return reasons
