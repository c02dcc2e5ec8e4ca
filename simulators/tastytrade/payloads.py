"""JSON bodies of the fake Tastytrade API, keyed as the SDK's models read them (dasherized)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.model import (
    AccountBalance,
    Equity,
    Fill,
    Instrument,
    OptionContract,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PriceEffect,
    TimeInForce,
)
from core.model.market import OptionQuote

STATUS = {
    OrderStatus.PENDING: "Received",
    OrderStatus.SUBMITTED: "Received",
    OrderStatus.ACCEPTED: "Live",
    OrderStatus.PARTIALLY_FILLED: "Live",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Expired",
}
ORDER_TYPE = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP: "Stop",
    OrderType.STOP_LIMIT: "Stop Limit",
}
TIF = {TimeInForce.DAY: "Day", TimeInForce.GTC: "GTC"}


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def instrument_type(instrument: Instrument) -> str:
    return "Equity Option" if isinstance(instrument, OptionContract) else "Equity"


def tt_symbol(instrument: Instrument) -> str:
    """The symbol Tastytrade names an instrument by: padded OCC for options, the ticker else."""
    return instrument.occ if isinstance(instrument, OptionContract) else instrument.symbol


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def account(number: str, opened: datetime) -> dict[str, Any]:
    return {
        "account-number": number,
        "opened-at": iso(opened),
        "nickname": "raydesk sim",
        "account-type-name": "Individual",
        "is-closed": False,
        "day-trader-status": False,
        "is-firm-error": False,
        "is-firm-proprietary": False,
        "is-futures-approved": False,
        "margin-or-cash": "Margin",
        "is-foreign": False,
        "created-at": iso(opened),
    }


_BALANCE_ZERO = [
    "long-equity-value",
    "short-equity-value",
    "long-derivative-value",
    "short-derivative-value",
    "long-futures-value",
    "short-futures-value",
    "long-futures-derivative-value",
    "short-futures-derivative-value",
    "long-margineable-value",
    "short-margineable-value",
    "futures-margin-requirement",
    "maintenance-requirement",
    "maintenance-call-value",
    "reg-t-call-value",
    "day-trading-call-value",
    "day-equity-call-value",
    "day-trade-excess",
    "pending-cash",
    "long-cryptocurrency-value",
    "short-cryptocurrency-value",
    "cryptocurrency-margin-requirement",
    "unsettled-cryptocurrency-fiat-amount",
    "closed-loop-available-balance",
    "equity-offering-margin-requirement",
    "long-bond-value",
    "bond-margin-requirement",
    "used-derivative-buying-power",
    "reg-t-margin-requirement",
    "futures-overnight-margin-requirement",
    "futures-intraday-margin-requirement",
    "maintenance-excess",
    "pending-margin-interest",
    "effective-cryptocurrency-buying-power",
]


def balance(number: str, b: AccountBalance) -> dict[str, Any]:
    body: dict[str, Any] = dict.fromkeys(_BALANCE_ZERO, "0")
    bp = str(b.buying_power.amount)
    body |= {
        "account-number": number,
        "cash-balance": str(b.cash.amount),
        "net-liquidating-value": str(b.equity.amount),
        "margin-equity": str(b.equity.amount),
        "equity-buying-power": bp,
        "derivative-buying-power": bp,
        "day-trading-buying-power": bp,
        "available-trading-funds": bp,
        "cash-available-to-withdraw": str(b.cash.amount),
        "snapshot-date": b.ts.date().isoformat(),
        "updated-at": iso(b.ts),
    }
    return body


def position(number: str, p: Position, now: datetime) -> dict[str, Any]:
    instrument = p.instrument
    return {
        "account-number": number,
        "symbol": tt_symbol(instrument),
        "instrument-type": instrument_type(instrument),
        "underlying-symbol": instrument.underlying,
        "quantity": str(abs(p.net)),
        "quantity-direction": "Long" if p.net > 0 else "Short",
        "close-price": str(p.avg_price.value),
        "average-open-price": str(p.avg_price.value),
        "multiplier": str(instrument.multiplier),
        "cost-effect": "Debit" if p.net > 0 else "Credit",
        "is-suppressed": False,
        "is-frozen": False,
        "realized-day-gain": "0",
        "realized-today": "0",
        "created-at": iso(now),
        "updated-at": iso(now),
    }


def order(
    number: str, broker_id: int, o: Order, fills: Sequence[Fill], external_identifier: str | None
) -> dict[str, Any]:
    """A placed order as the API returns it; ``fills`` go under their legs."""
    body: dict[str, Any] = {
        "id": broker_id,
        "account-number": number,
        "time-in-force": TIF[o.time_in_force],
        "order-type": ORDER_TYPE[o.order_type],
        "size": str(o.quantity.value),
        "underlying-symbol": o.legs[0].instrument.underlying,
        "underlying-instrument-type": "Equity",
        "status": STATUS[o.status],
        "cancellable": o.status.is_open,
        "editable": o.status.is_open,
        "edited": False,
        "received-at": iso(o.created_at),
        "updated-at": iso(o.updated_at or o.created_at),
        "legs": [],
    }
    if external_identifier:
        body["external-identifier"] = external_identifier
    if o.reason and o.status is OrderStatus.REJECTED:
        body["reject-reason"] = o.reason
    if o.status.is_terminal:
        body["terminal-at"] = body["updated-at"]
    if o.limit_price is not None:
        credit = o.price_effect is PriceEffect.CREDIT if o.is_multi_leg else o.side is OrderSide.SELL
        body["price"] = str(o.limit_price.value)
        body["price-effect"] = "Credit" if credit else "Debit"
    if o.stop_price is not None:
        body["stop-trigger"] = str(o.stop_price.value)
    for leg in o.legs:
        mine = [f for f in fills if f.instrument == leg.instrument]
        qty = o.quantity.value * leg.ratio
        done = sum((f.quantity.value for f in mine), Decimal(0))
        body["legs"].append(
            {
                "instrument-type": instrument_type(leg.instrument),
                "symbol": tt_symbol(leg.instrument),
                "action": ("Buy" if leg.side is OrderSide.BUY else "Sell") + " to Open",
                "quantity": str(qty),
                "remaining-quantity": str(qty - done if o.status.is_open else 0),
                "fills": [
                    {
                        "fill-id": str(f.fill_id),
                        "quantity": str(f.quantity.value),
                        "fill-price": str(f.price.value),
                        "filled-at": iso(f.ts),
                    }
                    for f in mine
                ],
            }
        )
    return body


def buying_power_effect(current: Decimal, change: Decimal, is_spread: bool) -> dict[str, Any]:
    """``change`` is the buying power the order uses (positive: it reduces buying power)."""
    return {
        "change-in-margin-requirement": str(abs(change)),
        "change-in-margin-requirement-effect": "Debit" if change > 0 else "Credit",
        "change-in-buying-power": str(abs(change)),
        "change-in-buying-power-effect": "Debit" if change > 0 else "Credit",
        "current-buying-power": str(current),
        "current-buying-power-effect": "Credit",
        "new-buying-power": str(current - change),
        "new-buying-power-effect": "Credit",
        "isolated-order-margin-requirement": str(abs(change)),
        "isolated-order-margin-requirement-effect": "Debit",
        "is-spread": is_spread,
        "impact": str(abs(change)),
        "effect": "Debit" if change > 0 else "Credit",
    }


def nested_chain(underlying: str, chain: Iterable[OptionQuote], today: date) -> dict[str, Any]:
    """``/option-chains/{symbol}/nested``: one item per root, expirations with their strikes."""
    by_root: dict[str, dict[date, dict[Decimal, dict[str, OptionContract]]]] = {}
    for q in chain:
        c = q.contract
        by_root.setdefault(c.root, {}).setdefault(c.expiry, {}).setdefault(c.strike, {})[c.right.value] = c
    items = []
    for root, expiries in sorted(by_root.items()):
        expirations = []
        for expiry, strikes in sorted(expiries.items()):
            rows = [
                {
                    "strike-price": str(strike),
                    "call": pair["C"].occ,
                    "put": pair["P"].occ,
                    "call-streamer-symbol": pair["C"].streamer_symbol,
                    "put-streamer-symbol": pair["P"].streamer_symbol,
                }
                for strike, pair in sorted(strikes.items())
                if "C" in pair and "P" in pair
            ]
            expirations.append(
                {
                    "expiration-type": "Regular",
                    "expiration-date": expiry.isoformat(),
                    "days-to-expiration": (expiry - today).days,
                    "settlement-type": "PM",
                    "strikes": rows,
                }
            )
        items.append(
            {
                "underlying-symbol": underlying,
                "root-symbol": root,
                "option-chain-type": "Standard",
                "shares-per-contract": 100,
                "tick-sizes": [{"value": "0.01"}],
                "expirations": expirations,
            }
        )
    return {"items": items}


def market_metric(symbol: str, iv_rank: Decimal, now: datetime) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "implied-volatility-index-rank": str(iv_rank),
        "tw-implied-volatility-index-rank": str(iv_rank),
        "updated-at": iso(now),
        "market-cap": "0",
    }


def equity_of(symbol: str) -> Equity:
    return Equity(symbol)
