"""Conversions between domain objects and ledger columns: Decimal as TEXT, UTC ISO-8601 TEXT."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from core.clock import ensure_utc
from core.errors import DataError
from core.model import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Instrument,
    Money,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    PriceEffect,
    Quantity,
    StrategyId,
    TimeInForce,
)


class Row(Protocol):
    """A result row read by column name (``sqlite3.Row`` or a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


# A fixed width (always microseconds, always "Z") so that TEXT order is time order.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts_text(ts: datetime) -> str:
    return ensure_utc(ts).strftime(_TS_FORMAT)


def ts_parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def opt_ts_text(ts: datetime | None) -> str | None:
    return None if ts is None else ts_text(ts)


def opt_ts_parse(text: str | None) -> datetime | None:
    return None if text is None else ts_parse(text)


def dec_text(value: Decimal | Price | Quantity) -> str:
    return str(value if isinstance(value, Decimal) else value.value)


def opt_price(text: str | None) -> Price | None:
    return None if text is None else Price(text)


def dumps(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def loads(text: str) -> Any:
    return json.loads(text)


# -- instruments and legs -------------------------------------------------------------------
def instrument_to_dict(instrument: Instrument) -> dict[str, Any]:
    if isinstance(instrument, Equity):
        return {"type": "equity", "symbol": instrument.symbol}
    return {
        "type": "option",
        "underlying": instrument.underlying,
        "expiry": instrument.expiry.isoformat(),
        "right": instrument.right.value,
        "strike": str(instrument.strike),
        "multiplier": instrument.multiplier,
        "root": instrument.root,
    }


def instrument_from_dict(data: Mapping[str, Any]) -> Instrument:
    kind = data.get("type")
    if kind == "equity":
        return Equity(str(data["symbol"]))
    if kind == "option":
        return OptionContract(
            underlying=str(data["underlying"]),
            expiry=date.fromisoformat(str(data["expiry"])),
            right=str(data["right"]),
            strike=Decimal(str(data["strike"])),
            multiplier=int(data["multiplier"]),
            root=str(data["root"]),
        )
    raise DataError(f"unknown instrument type in ledger: {data!r}")


def legs_to_json(legs: tuple[OrderLeg, ...]) -> str:
    return dumps(
        [
            {"instrument": instrument_to_dict(g.instrument), "side": g.side.value, "ratio": g.ratio}
            for g in legs
        ]
    )


def legs_from_json(text: str) -> tuple[OrderLeg, ...]:
    return tuple(
        OrderLeg(instrument_from_dict(g["instrument"]), OrderSide(g["side"]), int(g["ratio"]))
        for g in loads(text)
    )


# -- orders ---------------------------------------------------------------------------------
def order_to_row(order: Order) -> dict[str, Any]:
    return {
        "client_order_id": str(order.client_order_id),
        "account_id": str(order.account_id),
        "strategy": None if order.strategy is None else str(order.strategy),
        "status": order.status.value,
        "order_type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "quantity": dec_text(order.quantity),
        "filled_quantity": dec_text(order.filled_quantity),
        "limit_price": None if order.limit_price is None else dec_text(order.limit_price),
        "stop_price": None if order.stop_price is None else dec_text(order.stop_price),
        "price_effect": None if order.price_effect is None else order.price_effect.value,
        "avg_fill_price": None if order.avg_fill_price is None else dec_text(order.avg_fill_price),
        "broker_order_id": None if order.broker_order_id is None else str(order.broker_order_id),
        "reason": order.reason,
        "legs": legs_to_json(order.legs),
        "created_at": ts_text(order.created_at),
        "updated_at": opt_ts_text(order.updated_at),
    }


def order_from_row(row: Row) -> Order:
    return Order(
        client_order_id=ClientOrderId(row["client_order_id"]),
        account_id=AccountId(row["account_id"]),
        legs=legs_from_json(row["legs"]),
        quantity=Quantity(row["quantity"]),
        order_type=OrderType(row["order_type"]),
        created_at=ts_parse(row["created_at"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        limit_price=opt_price(row["limit_price"]),
        stop_price=opt_price(row["stop_price"]),
        price_effect=None if row["price_effect"] is None else PriceEffect(row["price_effect"]),
        strategy=None if row["strategy"] is None else StrategyId(row["strategy"]),
        status=OrderStatus(row["status"]),
        filled_quantity=Quantity(row["filled_quantity"]),
        avg_fill_price=opt_price(row["avg_fill_price"]),
        broker_order_id=None if row["broker_order_id"] is None else BrokerOrderId(row["broker_order_id"]),
        updated_at=opt_ts_parse(row["updated_at"]),
        reason=row["reason"],
    )


# -- fills ----------------------------------------------------------------------------------
def fill_to_row(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": str(fill.fill_id),
        "client_order_id": str(fill.client_order_id),
        "account_id": str(fill.account_id),
        "instrument_id": str(fill.instrument.id),
        "instrument": dumps(instrument_to_dict(fill.instrument)),
        "side": fill.side.value,
        "quantity": dec_text(fill.quantity),
        "price": dec_text(fill.price),
        "commission": dec_text(fill.commission.amount),
        "currency": fill.commission.currency,
        "ts": ts_text(fill.ts),
        "broker_order_id": None if fill.broker_order_id is None else str(fill.broker_order_id),
    }


def fill_from_row(row: Row) -> Fill:
    return Fill(
        fill_id=FillId(row["fill_id"]),
        client_order_id=ClientOrderId(row["client_order_id"]),
        account_id=AccountId(row["account_id"]),
        instrument=instrument_from_dict(loads(row["instrument"])),
        side=OrderSide(row["side"]),
        quantity=Quantity(row["quantity"]),
        price=Price(row["price"]),
        ts=ts_parse(row["ts"]),
        commission=Money(row["commission"], row["currency"]),
        broker_order_id=None if row["broker_order_id"] is None else BrokerOrderId(row["broker_order_id"]),
    )
