"""What the Alpaca simulator writes: Alpaca's JSON and msgpack shapes from domain objects.

Ids are deterministic (UUID5 of the account and Alpaca's client order id, of the exchange's fill
id), so a seeded run gives the same wire every time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgpack

from adapters.brokers.alpaca.parsing import WIRE_STATUS, wire_time
from core.model import AccountBalance, Fill, Order, OrderStatus, Position, Quote
from core.model.market import Bar

NAMESPACE = uuid.UUID("5b1c7d1e-3f0a-4c55-9a1e-7a1d2c3b4e5f")
Json = dict[str, Any]


def uid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def order_json(
    order: Order,
    alpaca_id: str,
    alpaca_cid: str,
    *,
    replaced_by: str | None = None,
    replaces: str | None = None,
    replaced_at: datetime | None = None,
) -> Json:
    """An Alpaca order (``status`` ``replaced`` for a generation that was replaced)."""
    status = "replaced" if replaced_by else WIRE_STATUS[order.status]
    updated = replaced_at or order.updated_at or order.created_at
    done = {
        OrderStatus.FILLED: "filled_at",
        OrderStatus.CANCELLED: "canceled_at",
        OrderStatus.EXPIRED: "expired_at",
        OrderStatus.REJECTED: "failed_at",
    }.get(order.status)
    symbol = order.instrument.symbol if hasattr(order.instrument, "symbol") else str(order.instrument.id)
    body: Json = {
        "id": alpaca_id,
        "client_order_id": alpaca_cid,
        "created_at": wire_time(order.created_at),
        "updated_at": wire_time(updated),
        "submitted_at": wire_time(order.created_at),
        "filled_at": None,
        "expired_at": None,
        "expires_at": None,
        "canceled_at": None,
        "failed_at": None,
        "replaced_at": wire_time(replaced_at) if replaced_at else None,
        "replaced_by": replaced_by,
        "replaces": replaces,
        "asset_id": uid("asset", symbol),
        "symbol": symbol,
        "asset_class": "us_equity",
        "notional": None,
        "qty": _num(order.quantity.value),
        "filled_qty": _num(order.filled_quantity.value),
        "filled_avg_price": _num(order.avg_fill_price.value) if order.avg_fill_price else None,
        "order_class": "simple",
        "order_type": str(order.order_type),
        "type": str(order.order_type),
        "side": str(order.side),
        "time_in_force": str(order.time_in_force),
        "limit_price": _num(order.limit_price.value) if order.limit_price else None,
        "stop_price": _num(order.stop_price.value) if order.stop_price else None,
        "status": status,
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "position_intent": None,
    }
    if done and not replaced_by:
        body[done] = wire_time(updated)
    return body


def trade_update(
    event: str, order: Json, ts: datetime, fill: Fill | None = None, position_qty: Decimal | None = None
) -> Json:
    """One ``trade_updates`` message (a fill carries its execution id, price and quantity)."""
    data: Json = {"event": event, "order": order, "timestamp": wire_time(ts)}
    if fill is not None:
        data |= {
            "execution_id": uid("execution", fill.fill_id),
            "price": _num(fill.price.value),
            "qty": _num(fill.quantity.value),
            "position_qty": _num(position_qty if position_qty is not None else Decimal(0)),
        }
    return {"stream": "trade_updates", "data": data}


def fill_activity(
    fill: Fill, account_uid: str, order_id: str, cum: Decimal, leaves: Decimal, status: str
) -> Json:
    """A ``FILL`` account activity; its id ends with the execution id of the stream's update."""
    return {
        "id": f"{fill.ts.astimezone(UTC):%Y%m%d%H%M%S%f}::{uid('execution', fill.fill_id)}",
        "account_id": account_uid,
        "activity_type": "FILL",
        "transaction_time": wire_time(fill.ts),
        "type": "partial_fill" if leaves > 0 else "fill",
        "price": _num(fill.price.value),
        "qty": _num(fill.quantity.value),
        "side": str(fill.side),
        "symbol": str(fill.instrument.id),
        "leaves_qty": _num(leaves),
        "order_id": order_id,
        "cum_qty": _num(cum),
        "order_status": status,
    }


def account_json(balance: AccountBalance, account_uid: str, number: str) -> Json:
    return {
        "id": account_uid,
        "account_number": number,
        "status": "ACTIVE",
        "currency": balance.cash.currency,
        "cash": _num(balance.cash.amount),
        "buying_power": _num(balance.buying_power.amount),
        "equity": _num(balance.equity.amount),
        "portfolio_value": _num(balance.equity.amount),
        "pattern_day_trader": False,
        "trading_blocked": False,
        "account_blocked": False,
        "shorting_enabled": True,
        "multiplier": "2",
        "daytrade_count": 0,
    }


def position_json(position: Position, mark: Decimal | None) -> Json:
    symbol = str(position.instrument.id)
    price = mark if mark is not None else position.avg_price.value
    net = position.net
    return {
        "asset_id": uid("asset", symbol),
        "symbol": symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "avg_entry_price": _num(position.avg_price.value),
        "qty": _num(net),
        "qty_available": _num(net),
        "side": "long" if net > 0 else "short",
        "market_value": _num(net * price),
        "cost_basis": _num(net * position.avg_price.value),
        "unrealized_pl": _num(net * (price - position.avg_price.value)),
        "current_price": _num(price),
    }


def error_json(code: int, message: str) -> Json:
    return {"code": code, "message": message}


# -- market data ----------------------------------------------------------------------------------
def stamp(ts: datetime) -> msgpack.Timestamp:
    """A msgpack Timestamp extension value, as Alpaca's data stream sends ``t``."""
    return msgpack.Timestamp.from_datetime(ts.astimezone(UTC))


def quote_rest(quote: Quote) -> Json:
    return {
        "t": wire_time(quote.ts),
        "bp": float(quote.bid.value),
        "bs": quote.bid_size,
        "bx": "V",
        "ap": float(quote.ask.value),
        "as": quote.ask_size,
        "ax": "V",
        "c": ["R"],
        "z": "C",
    }


def quote_stream(symbol: str, quote: Quote) -> Json:
    return {"T": "q", "S": symbol, **quote_rest(quote), "t": stamp(quote.ts)}


def bar_rest(row: dict[str, Any]) -> Json:
    ts = row["ts"] if row["ts"].tzinfo else row["ts"].replace(tzinfo=UTC)
    return {
        "t": wire_time(ts)[:-8] + "Z",
        "o": row["open"],
        "h": row["high"],
        "l": row["low"],
        "c": row["close"],
        "v": row["volume"],
        "n": 1,
        "vw": row["close"],
    }


def bar_stream(bar: Bar) -> Json:
    return {
        "T": "b",
        "S": bar.symbol,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
        "n": 1,
        "vw": bar.close,
        "t": stamp(bar.ts),
    }


def pack(messages: list[Json]) -> bytes:
    packed: bytes = msgpack.packb(messages, datetime=False)
    return packed
