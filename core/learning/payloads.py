"""Builders of the entry, daily and exit payloads (field names from ``fields.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.calendar import MarketCalendar, to_new_york
from core.learning.accounting import Book
from core.learning.context import EntryContext, Mark, MarketContext
from core.learning.fields import SCHEMA_VERSION
from core.learning.metrics import capture_efficiency, excursions, quality_score
from core.learning.structure import (
    Shape,
    bid_ask_mid,
    legs_detail,
    net_greeks,
    net_quote,
    risk_basis,
    shape,
    short_strike_distance,
    underlying_price,
)
from core.learning.technicals import Technicals
from core.model import Fill, OptionRight, OrderLeg, OrderSide, instrument_from_id


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """An open trade as its entry snapshot describes it."""

    trade_id: str
    account: str
    group: str
    entry_fill_id: str
    entry_fill_quantity: Decimal
    entry_ts: datetime
    session: date
    legs: tuple[OrderLeg, ...]
    shape: Shape
    risk_basis: float | None
    net_iv: float | None
    underlying_price: float | None

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(str(leg.instrument.id) for leg in self.legs)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> TradeRecord:
        legs = tuple(
            OrderLeg(instrument_from_id(leg["instrument"]), OrderSide(leg["side"]), int(leg["ratio"]))
            for leg in p["legs_json"]
        )
        right = p.get("short_right")
        sh = Shape(
            p["asset_class"],
            p["structure"],
            p["direction"],
            date.fromisoformat(p["expiry"]) if p.get("expiry") else None,
            p.get("short_strike"),
            p.get("long_strike"),
            OptionRight(right) if right else None,
        )
        return cls(
            trade_id=p["trade_id"],
            account=p["account"],
            group=p["entry_client_order_id"],
            entry_fill_id=p["entry_fill_id"],
            entry_fill_quantity=Decimal(str(p["entry_fill_quantity"])),
            entry_ts=datetime.fromisoformat(p["entry_ts"]),
            session=date.fromisoformat(p["session_date"]),
            legs=legs,
            shape=sh,
            risk_basis=p.get("risk_basis"),
            net_iv=p.get("net_iv"),
            underlying_price=p.get("underlying_price"),
        )


def mark_prices(marks: Mapping[str, Mark]) -> dict[str, Decimal]:
    """Instrument id → mid as a Decimal (for P&L)."""
    return {k: Decimal(repr(bid_ask_mid(m)[2])) for k, m in marks.items()}


def _pct(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den * 100


def _calendar_fields(calendar: MarketCalendar, ts: datetime) -> dict[str, Any]:
    session = to_new_york(ts).date()
    since_open: float | None = None
    if calendar.is_open(ts):
        since_open = (ts - calendar.session_open_close(session)[0]).total_seconds() / 60
    return {
        "session_date": session.isoformat(),
        "day_of_week": session.weekday(),
        "minutes_since_open": since_open,
        "minutes_to_close": calendar.minutes_to_close(ts),
    }


def _market_fields(mc: MarketContext) -> dict[str, Any]:
    p = mc.primary
    return {
        "index_symbol": p.symbol if p else None,
        "index_level": p.level if p else None,
        "index_ema_fast": p.ema_fast if p else None,
        "index_ema_slow": p.ema_slow if p else None,
        "index_trend": p.trend if p else None,
        "index_trend_strength": p.trend_strength if p else None,
        "index_return_5d": p.return_5d_pct if p else None,
        "realized_vol": mc.realized_vol,
        "realized_vol_pct": mc.realized_vol_pct,
        "vol_regime": mc.vol_regime,
        "indices_json": [s.as_dict() for s in mc.indices],
    }


def entry_payload(
    trade_id: str,
    fill: Fill,
    quantity: Decimal,
    legs: Sequence[OrderLeg],
    context: EntryContext | None,
    market: MarketContext,
    calendar: MarketCalendar,
    technicals: Technicals | None = None,
) -> dict[str, Any]:
    """The entry snapshot of a trade opened by ``quantity`` of ``fill``."""
    ctx = context or EntryContext()
    marks = ctx.quotes
    nq = net_quote(legs, marks)
    mid = nq[2] if nq else None
    sh = shape(legs, mid)
    greeks = net_greeks(legs, marks)
    ratio = next((leg.ratio for leg in legs if leg.instrument == fill.instrument), 1)
    units = float(quantity) / ratio
    fill_price = float(fill.price)
    risk = float(ctx.max_risk) if ctx.max_risk else risk_basis(sh, fill.instrument, units, fill_price, mid)
    cal = _calendar_fields(calendar, fill.ts)
    session = date.fromisoformat(cal["session_date"])
    short = next((leg for leg in legs if leg.side is OrderSide.SELL), None)
    short_delta = None
    if short is not None and sh.asset_class == "option":
        short_mark = marks.get(str(short.instrument.id))
        short_delta = getattr(short_mark, "delta", None)
    return {
        "trade_id": trade_id,
        "key": f"entry|{trade_id}",
        "schema_version": SCHEMA_VERSION,
        "account": str(fill.account_id),
        "strategy": ctx.strategy,
        "entry_client_order_id": str(fill.client_order_id),
        "entry_fill_id": str(fill.fill_id),
        "entry_ts": fill.ts.isoformat(),
        "symbol": legs[0].instrument.underlying,
        "asset_class": sh.asset_class,
        "structure": sh.structure,
        "direction": sh.direction,
        "legs_count": len(legs),
        "entry_fill_quantity": float(quantity),
        "quantity": units,
        "fill_price": fill_price,
        "quote_bid": nq[0] if nq else None,
        "quote_ask": nq[1] if nq else None,
        "quote_mid": mid,
        "quote_spread_pct": _pct(nq[1] - nq[0], abs(nq[2])) if nq else None,
        "underlying_price": underlying_price(legs, marks),
        "risk_basis": risk,
        "max_risk": float(ctx.max_risk) if ctx.max_risk else None,
        **{f"net_{g}": v for g, v in greeks.items()},
        "expiry": sh.expiry.isoformat() if sh.expiry else None,
        "dte": (sh.expiry - session).days if sh.expiry else None,
        "short_strike": sh.short_strike,
        "short_right": sh.short_right.value if sh.short_right else None,
        "long_strike": sh.long_strike,
        "width": sh.width,
        "short_delta": short_delta,
        "legs_json": legs_detail(legs, marks),
        "features": {k: float(v) for k, v in ctx.features.items()},
        "feature_set": ctx.feature_set,
        "model_score": ctx.model_score,
        "model_version": ctx.model_version or "rules",
        "confidence": ctx.confidence,
        "signal": ctx.signal,
        "reason": ctx.reason,
        **_market_fields(market),
        **(technicals or Technicals()).fields(),
        **cal,
        "days_to_earnings": ctx.days_to_earnings,
    }


def daily_payload(trade: TradeRecord, book: Book, now: datetime, marks: Mapping[str, Mark]) -> dict[str, Any]:
    """The daily snapshot of an open trade at ``now``."""
    session = to_new_york(now).date()
    prices = mark_prices(marks)
    pnl = book.pnl(prices)
    unrealized = book.unrealized(prices)
    nq = net_quote(trade.legs, marks)
    greeks = net_greeks(trade.legs, marks)
    und = underlying_price(trade.legs, marks)
    dist, dist_pct = short_strike_distance(trade.shape, und)
    lead = trade.legs[0]
    pos = book.positions.get(str(lead.instrument.id))
    return {
        "trade_id": trade.trade_id,
        "key": f"daily|{trade.trade_id}|{session.isoformat()}",
        "schema_version": SCHEMA_VERSION,
        "account": trade.account,
        "session_date": session.isoformat(),
        "ts": now.isoformat(),
        "mark": nq[2] if nq else None,
        "underlying_price": und,
        "open_quantity": float(abs(pos.net)) / lead.ratio if pos else None,
        "unrealized_pnl": float(unrealized) if unrealized is not None else None,
        "pnl": float(pnl) if pnl is not None else None,
        "pnl_pct": _pct(float(pnl), trade.risk_basis) if pnl is not None else None,
        **{f"net_{g}": v for g, v in greeks.items()},
        "short_strike_distance": dist,
        "short_strike_distance_pct": dist_pct,
        "days_held": (session - trade.session).days,
        "dte": (trade.shape.expiry - session).days if trade.shape.expiry else None,
    }


def exit_payload(
    trade: TradeRecord,
    book: Book,
    fill: Fill,
    path: Sequence[float],
    marks: Mapping[str, Mark],
) -> dict[str, Any]:
    """The exit snapshot of ``trade`` closed by ``fill``; ``path`` = P&L seen while open."""
    realized = float(book.realized)
    mfe, mae, points = excursions([*path, realized])
    und = underlying_price(trade.legs, marks) if marks else None
    exit_iv = net_greeks(trade.legs, marks)["iv"] if marks else None
    risk = trade.risk_basis
    und_change = und - trade.underlying_price if und is not None and trade.underlying_price else None
    return {
        "trade_id": trade.trade_id,
        "key": f"exit|{trade.trade_id}",
        "schema_version": SCHEMA_VERSION,
        "account": trade.account,
        "exit_ts": fill.ts.isoformat(),
        "exit_fill_id": str(fill.fill_id),
        "exit_client_order_id": str(fill.client_order_id),
        "exit_price": float(fill.price),
        "realized_pnl": realized,
        "commissions": float(book.commissions),
        "return_on_risk": _pct(realized, risk),
        "holding_minutes": (fill.ts - trade.entry_ts).total_seconds() / 60,
        "holding_days": (to_new_york(fill.ts).date() - trade.session).days,
        "mfe": mfe,
        "mae": mae,
        "capture_efficiency": capture_efficiency(realized, mfe),
        "exit_underlying_price": und,
        "underlying_change": und_change,
        "underlying_change_pct": _pct(und_change, trade.underlying_price),
        "exit_net_iv": exit_iv,
        "iv_change": exit_iv - trade.net_iv if exit_iv is not None and trade.net_iv is not None else None,
        "win": realized > 0,
        "quality_score": quality_score(realized, risk, mfe, mae),
        "path_points": points,
    }
