"""Pure conversions between the domain and the ``tastytrade`` SDK's models.

Symbols: Tastytrade names options by the padded OCC symbol and DXLink by the streamer symbol;
``OptionContract`` holds both conversions (``occ``/``from_occ``, ``streamer_symbol``/
``from_streamer_symbol``, exact for 2-decimal strikes where the SDK's
``streamer_symbol_to_occ`` is not). ``streamer_symbol`` and ``instrument_of`` are the only ways
the adapter turns one into the other.
"""

from __future__ import annotations

from decimal import Decimal

from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    OrderAction,
    OrderTimeInForce,
    PlacedOrder,
    StopLimitOrder,
    StopOrder,
)
from tastytrade.order import OrderStatus as TtStatus

from core.model import (
    Equity,
    Instrument,
    OptionContract,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PriceEffect,
    TimeInForce,
)

AnyTtOrder = LimitOrder | MarketOrder | StopOrder | StopLimitOrder
TIFS = {TimeInForce.DAY: OrderTimeInForce.DAY, TimeInForce.GTC: OrderTimeInForce.GTC}
STATUSES: dict[TtStatus, OrderStatus | None] = {
    TtStatus.RECEIVED: OrderStatus.SUBMITTED,
    TtStatus.ROUTED: OrderStatus.SUBMITTED,
    TtStatus.IN_FLIGHT: OrderStatus.SUBMITTED,
    TtStatus.CONTINGENT: OrderStatus.SUBMITTED,
    TtStatus.LIVE: OrderStatus.ACCEPTED,
    TtStatus.FILLED: OrderStatus.FILLED,
    TtStatus.CANCELLED: OrderStatus.CANCELLED,
    TtStatus.REMOVED: OrderStatus.CANCELLED,
    TtStatus.PARTIALLY_REMOVED: OrderStatus.CANCELLED,
    TtStatus.EXPIRED: OrderStatus.EXPIRED,
    TtStatus.REJECTED: OrderStatus.REJECTED,
    TtStatus.CANCEL_REQUESTED: None,
    TtStatus.REPLACE_REQUESTED: None,
}
"""Tastytrade's status → ours; ``None``: a request in flight, the order keeps its status."""


def streamer_symbol(instrument: Instrument) -> str:
    """The DXLink symbol: ``.QQQ251219P622`` for an option, the ticker for an equity or index."""
    return instrument.streamer_symbol if isinstance(instrument, OptionContract) else instrument.symbol


def tt_symbol(instrument: Instrument) -> str:
    """The symbol Tastytrade's REST API names ``instrument`` by (padded OCC for options)."""
    return instrument.occ if isinstance(instrument, OptionContract) else instrument.symbol


def instrument_of(symbol: str, instrument_type: InstrumentType | str) -> Instrument | None:
    """The instrument of a REST symbol or a DXLink symbol; ``None`` for kinds we do not trade."""
    if symbol.startswith("."):
        return OptionContract.from_streamer_symbol(symbol)
    if instrument_type == InstrumentType.EQUITY_OPTION:
        return OptionContract.from_occ(symbol)
    if instrument_type in (InstrumentType.EQUITY, InstrumentType.INDEX):
        return Equity(symbol)
    return None


def action(side: OrderSide, holding: Decimal) -> OrderAction:
    """Opening or closing: a sell against a long holding closes it, a buy against a short one."""
    if side is OrderSide.SELL:
        return OrderAction.SELL_TO_CLOSE if holding > 0 else OrderAction.SELL_TO_OPEN
    return OrderAction.BUY_TO_CLOSE if holding < 0 else OrderAction.BUY_TO_OPEN


def side_of(act: OrderAction) -> OrderSide:
    return OrderSide.BUY if act.value.startswith("Buy") else OrderSide.SELL


def signed_price(order: Order, price: Decimal) -> Decimal:
    """The SDK's sign: positive is a credit (received), negative a debit (paid)."""
    if order.is_multi_leg:
        return price if order.price_effect is PriceEffect.CREDIT else -price
    return price if order.side is OrderSide.SELL else -price


def build_order(order: Order, holdings: dict[Instrument, Decimal], external_identifier: str) -> AnyTtOrder:
    """The SDK order for ``order`` (all its legs in one order), tagged with ``external_identifier``."""
    legs = [
        Leg(
            instrument_type=InstrumentType.EQUITY_OPTION
            if isinstance(leg.instrument, OptionContract)
            else InstrumentType.EQUITY,
            symbol=tt_symbol(leg.instrument),
            action=action(leg.side, holdings.get(leg.instrument, Decimal(0))),
            quantity=order.leaves_quantity.value * leg.ratio,
        )
        for leg in order.legs
    ]
    tif = TIFS[order.time_in_force]
    common = {"legs": legs, "time_in_force": tif, "external_identifier": external_identifier}
    limit = signed_price(order, order.limit_price.value) if order.limit_price else None
    stop = order.stop_price.value if order.stop_price else None
    if order.order_type is OrderType.LIMIT and limit is not None:
        return LimitOrder(price=limit, **common)  # type: ignore[arg-type]
    if order.order_type is OrderType.STOP and stop is not None:
        return StopOrder(stop_trigger=stop, **common)  # type: ignore[arg-type]
    if order.order_type is OrderType.STOP_LIMIT and limit is not None and stop is not None:
        return StopLimitOrder(price=limit, stop_trigger=stop, **common)  # type: ignore[arg-type]
    return MarketOrder(**common)  # type: ignore[arg-type]


def leg_instruments(placed: PlacedOrder) -> list[Instrument | None]:
    return [instrument_of(leg.symbol, leg.instrument_type) for leg in placed.legs]
