"""Pure conversions between raydesk's domain and the TWS API's contracts, orders and codes.

Nothing here talks to a socket: the adapter and the fake TWS (``simulators.ibkr``) both use it,
and unit tests drive it directly.

Combinations (BAG): IB prices a combo bought (``BUY``) at a positive price as a debit and at a
negative price as a credit. raydesk's combo orders carry a positive net price and a price
effect, so a credit spread at 1.20 goes out as ``BUY`` at ``-1.20`` with each leg's own action.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ib_async import ComboLeg, Contract

from core.errors import InvalidValue
from core.model import (
    Equity,
    Instrument,
    OptionContract,
    Order,
    OrderSide,
    OrderType,
    Price,
    PriceEffect,
    TimeInForce,
)
from core.model.instruments import ROOT_UNDERLYING

SMART = "SMART"
USD = "USD"
UNSET_DOUBLE = 1.7976931348623157e308

ORDER_TYPES: dict[OrderType, str] = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
}
ORDER_TYPE_OF: dict[str, OrderType] = {v: k for k, v in ORDER_TYPES.items()}
TIFS: dict[TimeInForce, str] = {TimeInForce.DAY: "DAY", TimeInForce.GTC: "GTC"}

LINK_LOST = 1100
RESTORED_DATA_LOST = 1101
RESTORED_DATA_KEPT = 1102
CLIENT_ID_IN_USE = 326
FARM_BROKEN = frozenset({2103, 2105, 2157})
FARM_OK = frozenset({2104, 2106, 2158})
"""Market-data (2103/2104), historical-data (2105/2106) and sec-def (2157/2158) farm codes."""
ORDER_REJECTED_CODES = frozenset({103, 104, 200, 201, 203, 383})
"""Errors on an order id that mean the venue refused the order (it never worked)."""
DONE_CANCELLED = frozenset({"Cancelled", "ApiCancelled"})


def instrument_from_fields(
    symbol: str,
    sec_type: str,
    expiry: str,
    strike: float | str,
    right: str,
    multiplier: str,
    trading_class: str,
) -> Instrument | None:
    """The instrument a contract's fields name (``None`` for what raydesk does not trade)."""
    if sec_type == "STK":
        return Equity(symbol)
    if sec_type != "OPT":
        return None
    root = trading_class or symbol
    underlying = ROOT_UNDERLYING.get(root, symbol)
    mult = int(float(multiplier)) if multiplier else 100
    return OptionContract(
        underlying, parse_expiry(expiry), right[:1], Decimal(str(strike)), multiplier=mult, root=root
    )


def instrument_of(contract: Contract) -> Instrument | None:
    return instrument_from_fields(
        contract.symbol,
        contract.secType,
        contract.lastTradeDateOrContractMonth,
        contract.strike,
        contract.right,
        contract.multiplier,
        contract.tradingClass,
    )


def contract_for(instrument: Instrument, con_id: int = 0) -> Contract:
    """The SMART-routed USD contract of ``instrument`` (``con_id`` once qualified)."""
    if isinstance(instrument, Equity):
        return Contract(secType="STK", conId=con_id, symbol=instrument.symbol, exchange=SMART, currency=USD)
    return Contract(
        secType="OPT",
        conId=con_id,
        symbol=instrument.underlying,
        lastTradeDateOrContractMonth=f"{instrument.expiry:%Y%m%d}",
        strike=float(instrument.strike),
        right=instrument.right.value,
        multiplier=str(instrument.multiplier),
        exchange=SMART,
        currency=USD,
        tradingClass=instrument.root,
    )


def combo_contract(order: Order, con_ids: dict[Instrument, int]) -> Contract:
    """The BAG contract of a multi-leg order; every leg needs its qualified ``con_ids`` entry."""
    legs = [
        ComboLeg(conId=con_ids[leg.instrument], ratio=leg.ratio, action=action_of(leg.side), exchange=SMART)
        for leg in order.legs
    ]
    first = order.legs[0].instrument
    return Contract(secType="BAG", symbol=first.underlying, exchange=SMART, currency=USD, comboLegs=legs)


def action_of(side: OrderSide) -> str:
    return "BUY" if side is OrderSide.BUY else "SELL"


def side_of(action: str) -> OrderSide:
    """``BUY``/``BOT`` is a buy, ``SELL``/``SLD``/``SSHORT`` a sell."""
    if action in ("BUY", "BOT"):
        return OrderSide.BUY
    if action in ("SELL", "SLD", "SSHORT"):
        return OrderSide.SELL
    raise InvalidValue(f"unknown IB action {action!r}")


def signed_combo_price(order: Order) -> float:
    """The BAG limit price IB expects for a ``BUY`` combo: negative for a credit."""
    if order.limit_price is None:
        return UNSET_DOUBLE
    price = float(order.limit_price.value)
    return -price if order.price_effect is PriceEffect.CREDIT else price


def combo_net(signed: float) -> tuple[Price, PriceEffect]:
    """A ``BUY`` combo's signed price back as raydesk's positive net price and its effect."""
    effect = PriceEffect.CREDIT if signed < 0 else PriceEffect.DEBIT
    return Price(Decimal(str(abs(signed)))), effect


def parse_expiry(text: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        raise InvalidValue(f"bad IB expiry {text!r}: expected YYYYMMDD") from None


def ib_time(ts: datetime) -> str:
    """An aware instant in IB's ``YYYYmmdd HH:MM:SS UTC`` form."""
    return ts.astimezone(UTC).strftime("%Y%m%d %H:%M:%S UTC")


def parse_ib_time(text: str) -> datetime:
    """``YYYYmmdd HH:MM:SS <zone>`` (zone defaults to UTC) or epoch seconds, as aware UTC."""
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    parts = text.split(" ")
    zone = ZoneInfo(parts[2]) if len(parts) > 2 else UTC
    local = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y%m%d %H:%M:%S").replace(tzinfo=zone)
    return local.astimezone(UTC)


def bar_size(timeframe: str) -> str:
    """IB's bar size setting of a raydesk timeframe (``1m``, ``5m``, ``1h``, ``1d``)."""
    sizes = {"1m": "1 min", "5m": "5 mins", "15m": "15 mins", "30m": "30 mins", "1h": "1 hour", "1d": "1 day"}
    if timeframe not in sizes:
        raise InvalidValue(f"timeframe: IB has no bar size for {timeframe!r} (have {sorted(sizes)})")
    return sizes[timeframe]


def duration(start: datetime, end: datetime) -> str:
    """IB's duration string covering ``[start, end)``: seconds up to a day, else whole days."""
    seconds = max(int((end - start).total_seconds()), 1)
    if seconds <= 86_400:
        return f"{seconds} S"
    return f"{-(-seconds // 86_400)} D"


def duration_seconds(text: str) -> int:
    """Seconds of an IB duration string (``S``, ``D``, ``W``)."""
    count, unit = text.split()
    per = {"S": 1, "D": 86_400, "W": 7 * 86_400}
    if unit not in per:
        raise InvalidValue(f"unsupported IB duration {text!r}")
    return int(count) * per[unit]


def farm_flag(code: int, message: str) -> str:
    """The health flag of a farm code, e.g. ``2103:usfarm`` (the farm named after the colon)."""
    farm = message.rsplit(":", 1)[-1].strip() if ":" in message else ""
    return f"{code}:{farm}" if farm else str(code)


def cleared_flag(ok_code: int, message: str) -> str:
    """The broken-farm flag a farm-OK code clears (2104 clears 2103 of the same farm, ...)."""
    broken_of = {2104: 2103, 2106: 2105, 2158: 2157}
    return farm_flag(broken_of[ok_code], message)
