"""Alpaca's wire (JSON dicts as alpaca-py hands them over with ``raw_data=True``) to domain, and
domain to alpaca-py's request models. Pure: no I/O, no SDK client.

Prices and quantities arrive as strings (REST) or JSON numbers (stream) and become ``Decimal``
through ``str``, so nothing goes through binary floats twice. A replacement at Alpaca is a new
order that needs a new ``client_order_id``: generation ``n`` of our order ``cid`` is sent as
``cid~r<n>`` and read back as ``cid``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)

from core.errors import OrderRejected
from core.messages import PositionReport
from core.model import (
    AccountBalance,
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Money,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    TimeInForce,
)
from core.model.identifiers import InstrumentId
from core.model.market import Bar, Quote

Raw = Mapping[str, Any]
REPLACE_MARK = "~r"

STATUSES: dict[str, OrderStatus] = {
    "pending_new": OrderStatus.SUBMITTED,
    "accepted": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.SUBMITTED,
    "pending_review": OrderStatus.SUBMITTED,
    "held": OrderStatus.SUBMITTED,
    "new": OrderStatus.ACCEPTED,
    "pending_cancel": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "replaced": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""Alpaca order status -> ours. ``pending_*`` keep the order working until Alpaca confirms."""
WIRE_STATUS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "pending_new",
    OrderStatus.SUBMITTED: "accepted",
    OrderStatus.ACCEPTED: "new",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.EXPIRED: "expired",
    OrderStatus.REJECTED: "rejected",
}
TYPES = {t.value: t for t in OrderType}
TIFS = {TimeInForce.DAY: AlpacaTif.DAY, TimeInForce.GTC: AlpacaTif.GTC}


# -- identifiers ------------------------------------------------------------------------------
def alpaca_client_id(cid: ClientOrderId, generation: int = 0) -> str:
    """The ``client_order_id`` of generation ``generation`` (0: the original order)."""
    return str(cid) if generation == 0 else f"{cid}{REPLACE_MARK}{generation}"


def our_client_id(alpaca_cid: str) -> ClientOrderId:
    return ClientOrderId(alpaca_cid.split(REPLACE_MARK, 1)[0])


def generation_of(alpaca_cid: str) -> int:
    _, mark, n = alpaca_cid.partition(REPLACE_MARK)
    return int(n) if mark and n.isdigit() else 0


# -- values -------------------------------------------------------------------------------------
def parse_time(text: str | datetime) -> datetime:
    """An Alpaca timestamp (RFC 3339, up to nanoseconds, ``Z`` or an offset) as aware UTC."""
    if isinstance(text, datetime):
        return text.astimezone(UTC) if text.tzinfo else text.replace(tzinfo=UTC)
    head, dot, rest = text.replace("Z", "+00:00").partition(".")
    if dot:
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        head = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(head)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def wire_time(ts: datetime) -> str:
    """``ts`` as Alpaca writes it (UTC, microseconds, ``Z``)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _opt(value: Any) -> Decimal | None:
    return None if value in (None, "") else dec(value)


# -- orders -------------------------------------------------------------------------------------
def order_request(order: Order, generation: int = 0) -> OrderRequest:
    """alpaca-py's request for ``order``; ``OrderRejected`` for what Alpaca takes no orders of."""
    if order.is_multi_leg or not isinstance(order.instrument, Equity):
        raise OrderRejected(f"order {order.client_order_id}: Alpaca takes equity orders only here")
    common: dict[str, Any] = {
        "symbol": order.instrument.symbol,
        "qty": float(order.quantity.value),
        "side": AlpacaSide.BUY if order.side is OrderSide.BUY else AlpacaSide.SELL,
        "time_in_force": TIFS[order.time_in_force],
        "client_order_id": alpaca_client_id(order.client_order_id, generation),
    }
    limit = float(order.limit_price.value) if order.limit_price else None
    stop = float(order.stop_price.value) if order.stop_price else None
    if order.order_type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if order.order_type is OrderType.LIMIT:
        return LimitOrderRequest(**common, limit_price=limit)
    if order.order_type is OrderType.STOP:
        return StopOrderRequest(**common, stop_price=stop)
    return StopLimitOrderRequest(**common, limit_price=limit, stop_price=stop)


def order_from_wire(raw: Raw, account_id: AccountId) -> Order:
    """Our order from an Alpaca order (any generation: the client id is read back to ours)."""
    filled = dec(raw.get("filled_qty") or 0)
    status = STATUSES.get(str(raw["status"]), OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    kind = TYPES.get(str(raw.get("type") or raw.get("order_type") or "market"), OrderType.MARKET)
    limit, stop = _opt(raw.get("limit_price")), _opt(raw.get("stop_price"))
    avg = _opt(raw.get("filled_avg_price"))
    return Order(
        client_order_id=our_client_id(str(raw["client_order_id"])),
        account_id=account_id,
        legs=(OrderLeg(Equity(str(raw["symbol"])), OrderSide(str(raw["side"]))),),
        quantity=Quantity(dec(raw["qty"])),
        order_type=kind,
        created_at=parse_time(raw["created_at"]),
        time_in_force=TimeInForce.GTC if raw.get("time_in_force") == "gtc" else TimeInForce.DAY,
        limit_price=Price(limit)
        if limit is not None and kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        else None,
        stop_price=Price(stop)
        if stop is not None and kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        else None,
        status=status,
        filled_quantity=Quantity(filled),
        avg_fill_price=Price(avg) if avg and filled > 0 else None,
        broker_order_id=BrokerOrderId(str(raw["id"])),
        updated_at=parse_time(raw.get("updated_at") or raw["created_at"]),
        reason=str(raw.get("status")) if status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED) else "",
    )


def fill_from_update(update: Raw, account_id: AccountId) -> Fill | None:
    """The execution a ``fill``/``partial_fill`` trade update reports (``None`` for other events)."""
    if update.get("event") not in ("fill", "partial_fill") or not update.get("execution_id"):
        return None
    order = update["order"]
    return Fill(
        fill_id=FillId(str(update["execution_id"])),
        client_order_id=our_client_id(str(order["client_order_id"])),
        account_id=account_id,
        instrument=Equity(str(order["symbol"])),
        side=OrderSide(str(order["side"])),
        quantity=Quantity(dec(update["qty"])),
        price=Price(dec(update["price"])),
        ts=parse_time(update["timestamp"]),
        broker_order_id=BrokerOrderId(str(order["id"])),
    )


def activity_fill_id(activity_id: str) -> FillId:
    """A FILL activity's id is ``<time>::<execution id>``; the execution id names the fill."""
    return FillId(activity_id.rsplit("::", 1)[-1])


def fill_from_activity(raw: Raw, account_id: AccountId, cid: ClientOrderId) -> Fill:
    """A fill from a ``FILL`` account activity of the order ``cid``."""
    return Fill(
        fill_id=activity_fill_id(str(raw["id"])),
        client_order_id=cid,
        account_id=account_id,
        instrument=Equity(str(raw["symbol"])),
        side=OrderSide(str(raw["side"])),
        quantity=Quantity(dec(raw["qty"])),
        price=Price(dec(raw["price"])),
        ts=parse_time(raw["transaction_time"]),
        broker_order_id=BrokerOrderId(str(raw["order_id"])),
    )


# -- account ------------------------------------------------------------------------------------
def position_from_wire(raw: Raw) -> PositionReport:
    """Alpaca's ``qty`` is signed (negative for shorts)."""
    return PositionReport(Equity(str(raw["symbol"])), dec(raw["qty"]), Price(dec(raw["avg_entry_price"])))


def balance_from_wire(raw: Raw, account_id: AccountId, ts: datetime) -> AccountBalance:
    currency = str(raw.get("currency") or "USD")
    return AccountBalance(
        account_id,
        Money(dec(raw["cash"]), currency),
        Money(dec(raw.get("buying_power") or 0), currency),
        Money(dec(raw.get("equity") or raw.get("portfolio_value") or raw["cash"]), currency),
        ts,
    )


# -- errors -------------------------------------------------------------------------------------
def error_code(body: str) -> tuple[int | None, str]:
    """Alpaca's error ``code`` and ``message`` from a response body (JSON or text)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, body
    if not isinstance(parsed, dict):
        return None, body
    code = parsed.get("code")
    return (int(code) if isinstance(code, int | str) and str(code).isdigit() else None), str(
        parsed.get("message", body)
    )


def is_duplicate_client_id(status: int | None, message: str) -> bool:
    """Alpaca's answer to a second order with a known ``client_order_id`` (HTTP 422)."""
    return status == 422 and "client_order_id" in message and "unique" in message


# -- market data --------------------------------------------------------------------------------
def market_time(value: Any) -> datetime:
    """A data timestamp: RFC 3339 text (REST) or a msgpack ``Timestamp`` (stream)."""
    if hasattr(value, "to_datetime"):
        return parse_time(value.to_datetime())
    return parse_time(value)


def bar_from_wire(symbol: str, raw: Raw) -> Bar:
    return Bar(
        symbol,
        market_time(raw["t"]),
        float(raw["o"]),
        float(raw["h"]),
        float(raw["l"]),
        float(raw["c"]),
        float(raw.get("v") or 0),
    )


def quote_from_wire(symbol: str, raw: Raw) -> Quote:
    return Quote(
        InstrumentId(symbol),
        Price(dec(raw["bp"])),
        Price(dec(raw["ap"])),
        market_time(raw["t"]),
        float(raw.get("bs") or 0),
        float(raw.get("as") or 0),
    )
