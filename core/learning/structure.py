"""Pure arithmetic on a trade's structure: net quotes, net greeks, strikes and risk.

Sign convention: a long leg counts +ratio, a short leg -ratio, per one unit of the structure.
A credit vertical therefore has a negative net mid (the holder is short its value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.learning.context import Mark
from core.model import Equity, Instrument, OptionContract, OptionQuote, OptionRight, OrderLeg, OrderSide

GREEKS = ("delta", "gamma", "theta", "vega")


def sign(leg: OrderLeg) -> int:
    return 1 if leg.side is OrderSide.BUY else -1


def bid_ask_mid(mark: Mark) -> tuple[float, float, float]:
    quote = mark.quote if isinstance(mark, OptionQuote) else mark
    return float(quote.bid), float(quote.ask), float(quote.mid)


def _marks_for(legs: Sequence[OrderLeg], marks: Mapping[str, Mark]) -> list[Mark] | None:
    found = [marks.get(str(leg.instrument.id)) for leg in legs]
    return None if any(m is None for m in found) else [m for m in found if m is not None]


def net_quote(legs: Sequence[OrderLeg], marks: Mapping[str, Mark]) -> tuple[float, float, float] | None:
    """(bid, ask, mid) of one structure unit; None when a leg has no mark."""
    found = _marks_for(legs, marks)
    if found is None:
        return None
    bid = ask = mid = 0.0
    for leg, mark in zip(legs, found, strict=True):
        b, a, m = bid_ask_mid(mark)
        s = sign(leg) * leg.ratio
        bid += s * (b if s > 0 else a)
        ask += s * (a if s > 0 else b)
        mid += s * m
    return bid, ask, mid


def net_greeks(legs: Sequence[OrderLeg], marks: Mapping[str, Mark]) -> dict[str, float | None]:
    """Net delta/gamma/theta/vega and the ratio-weighted IV of the option legs (None if unknown)."""
    out: dict[str, float | None] = dict.fromkeys((*GREEKS, "iv"))
    options = [leg for leg in legs if isinstance(leg.instrument, OptionContract)]
    found = _marks_for(options, marks)
    if not options or found is None or not all(isinstance(m, OptionQuote) for m in found):
        return out
    quotes = [m for m in found if isinstance(m, OptionQuote)]
    for greek in GREEKS:
        out[greek] = sum(
            sign(leg) * leg.ratio * getattr(q, greek) for leg, q in zip(options, quotes, strict=True)
        )
    weight = sum(leg.ratio for leg in options)
    out["iv"] = sum(leg.ratio * q.iv for leg, q in zip(options, quotes, strict=True)) / weight
    return out


def underlying_price(legs: Sequence[OrderLeg], marks: Mapping[str, Mark]) -> float | None:
    """From an option leg's quote, else the underlying's own quote among ``marks``."""
    for leg in legs:
        mark = marks.get(str(leg.instrument.id))
        if isinstance(mark, OptionQuote):
            return mark.underlying_price
    symbol = legs[0].instrument.underlying
    mark = marks.get(symbol)
    return bid_ask_mid(mark)[2] if mark is not None else None


def legs_detail(legs: Sequence[OrderLeg], marks: Mapping[str, Mark]) -> list[dict[str, Any]]:
    """Per leg: instrument, side, ratio, option terms, quote and greeks (JSON-ready)."""
    out: list[dict[str, Any]] = []
    for leg in legs:
        inst = leg.instrument
        row: dict[str, Any] = {"instrument": str(inst.id), "side": leg.side.value, "ratio": leg.ratio}
        if isinstance(inst, OptionContract):
            row |= {
                "strike": float(inst.strike),
                "right": inst.right.value,
                "expiry": inst.expiry.isoformat(),
            }
        mark = marks.get(str(inst.id))
        if mark is not None:
            row["bid"], row["ask"], row["mid"] = bid_ask_mid(mark)
        if isinstance(mark, OptionQuote):
            row |= {g: getattr(mark, g) for g in (*GREEKS, "iv")}
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class Shape:
    """What a structure is: its asset class, kind, direction and key strikes."""

    asset_class: str
    structure: str
    direction: str | None
    expiry: date | None = None
    short_strike: float | None = None
    long_strike: float | None = None
    short_right: OptionRight | None = None
    short_id: str | None = None

    @property
    def width(self) -> float | None:
        if self.short_strike is None or self.long_strike is None:
            return None
        return abs(self.short_strike - self.long_strike)


def shape(legs: Sequence[OrderLeg], net_mid: float | None) -> Shape:
    """Classify ``legs``: equity, single_option, vertical or multi_leg."""
    first = legs[0].instrument
    if len(legs) == 1:
        long_short = "long" if legs[0].side is OrderSide.BUY else "short"
        if isinstance(first, Equity):
            return Shape("equity", "equity", long_short)
        assert isinstance(first, OptionContract)
        short = legs[0].side is OrderSide.SELL
        return Shape(
            "option",
            "single_option",
            long_short,
            first.expiry,
            float(first.strike) if short else None,
            None if short else float(first.strike),
            first.right if short else None,
            str(first.id) if short else None,
        )
    options = [(leg, leg.instrument) for leg in legs if isinstance(leg.instrument, OptionContract)]
    shorts = [(leg, o) for leg, o in options if leg.side is OrderSide.SELL]
    longs = [(leg, o) for leg, o in options if leg.side is OrderSide.BUY]
    expiry = min((o.expiry for _, o in options), default=None)
    short_o = shorts[0][1] if shorts else None
    long_o = longs[0][1] if longs else None
    is_vertical = (
        len(legs) == 2
        and short_o is not None
        and long_o is not None
        and short_o.underlying == long_o.underlying
        and short_o.right == long_o.right
        and short_o.expiry == long_o.expiry
        and legs[0].ratio == legs[1].ratio
    )
    direction: str | None = None
    if net_mid is not None:
        direction = "credit" if net_mid < 0 else "debit"
    elif is_vertical and short_o is not None and long_o is not None:
        puts = short_o.right is OptionRight.PUT
        direction = "credit" if (short_o.strike > long_o.strike) == puts else "debit"
    return Shape(
        "option" if options else "equity",
        "vertical" if is_vertical else "multi_leg",
        direction,
        expiry,
        float(short_o.strike) if short_o else None,
        float(long_o.strike) if long_o else None,
        short_o.right if short_o else None,
        str(short_o.id) if short_o else None,
    )


def short_strike_distance(sh: Shape, underlying: float | None) -> tuple[float | None, float | None]:
    """Cushion to the short strike in points and % of the underlying (positive: out of the money)."""
    if sh.short_strike is None or sh.short_right is None or underlying is None or underlying <= 0:
        return None, None
    points = (
        underlying - sh.short_strike if sh.short_right is OptionRight.PUT else sh.short_strike - underlying
    )
    return points, points / underlying * 100


def risk_basis(
    sh: Shape, instrument: Instrument, quantity: float, fill_price: float, net_mid: float | None
) -> float | None:
    """Capital at risk when no ``max_risk`` was given (documented per structure in the doc).

    equity: notional; long option: premium; short option: strike × multiplier; vertical credit:
    (width - credit) × multiplier, debit: debit × multiplier (width when quotes are missing);
    other multi-leg: |net mid| × multiplier. Times ``quantity`` structure units.
    """
    mult = instrument.multiplier
    if sh.structure in ("equity",):
        return fill_price * quantity * mult
    if sh.structure == "single_option":
        per = fill_price if sh.direction == "long" else float(getattr(instrument, "strike", 0))
        return per * quantity * mult
    if sh.structure == "vertical" and sh.width is not None:
        if net_mid is None:
            return sh.width * quantity * mult
        per = sh.width - abs(net_mid) if sh.direction == "credit" else abs(net_mid)
        return per * quantity * mult
    return abs(net_mid) * quantity * mult if net_mid is not None else None
