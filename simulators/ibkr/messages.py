"""Server-to-client messages of the TWS API at server version 178, as ib_async decodes them.

Each builder returns the fields of one message (``wire.frame`` frames it). Field order and
count follow ib_async's ``decoder.py``; unused fields are sent empty, as TWS does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from adapters.brokers.ibkr.parsing import SMART, UNSET_DOUBLE, USD, ib_time
from core.model import Equity, Instrument
from simulators.ibkr.wire import Field

Fields = list[Field]


@dataclass(frozen=True, slots=True)
class WireContract:
    """A contract as TWS reports it."""

    con_id: int
    symbol: str
    sec_type: str
    expiry: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    trading_class: str = ""
    local_symbol: str = ""
    legs: tuple[tuple[int, int, str], ...] = field(default=())
    """BAG legs: (conId, ratio, action)."""

    def eleven(self) -> Fields:
        """conId, symbol, secType, expiry, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass (server messages drop primaryExchange)."""
        strike = self.strike if self.sec_type == "OPT" else 0.0
        return [
            self.con_id, self.symbol, self.sec_type, self.expiry, strike, self.right,
            self.multiplier, SMART, USD, self.local_symbol, self.trading_class,
        ]  # fmt: skip


def wire_contract(instrument: Instrument, con_id: int) -> WireContract:
    if isinstance(instrument, Equity):
        return WireContract(con_id, instrument.symbol, "STK", local_symbol=instrument.symbol)
    return WireContract(
        con_id,
        instrument.underlying,
        "OPT",
        f"{instrument.expiry:%Y%m%d}",
        float(instrument.strike),
        instrument.right.value,
        str(instrument.multiplier),
        instrument.root,
        instrument.occ,
    )


@dataclass(frozen=True, slots=True)
class WireOrder:
    """What TWS reports of an order in openOrder and completedOrder."""

    order_id: int
    client_id: int
    perm_id: int
    contract: WireContract
    action: str
    quantity: float
    order_type: str
    limit: float
    aux: float
    tif: str
    account: str
    order_ref: str
    status: str
    filled: float = 0.0
    completed_time: str = ""


def _blank(count: int) -> Fields:
    return [""] * count


def _combo_legs(contract: WireContract) -> Fields:
    out: Fields = [len(contract.legs)]
    for con_id, ratio, action in contract.legs:
        out += [con_id, ratio, action, SMART, 0, 0, "", -1]
    return out


def _price(value: float) -> Field:
    return "" if value == UNSET_DOUBLE else value


def open_order(o: WireOrder) -> Fields:
    f: Fields = [5, o.order_id, *o.contract.eleven()]
    f += [o.action, o.quantity, o.order_type, _price(o.limit), _price(o.aux), o.tif, "", o.account]
    f += ["", 0, o.order_ref, o.client_id, o.perm_id, 0, 0, 0, "", "", "", "", ""]
    f += _blank(29)  # modelCode .. deltaNeutralAuxPrice (no delta-neutral type: no extra fields)
    f += [*_blank(6), ""]  # continuousUpdate .. basisPointsType, comboLegsDescrip
    f += _combo_legs(o.contract)
    f += [0, 0]  # order combo legs, smart combo routing params
    f += [*_blank(3), ""]  # scale fields (no increment), hedgeType
    f += [*_blank(4), 0, ""]  # optOutSmartRouting .. notHeld, no delta-neutral contract, algo
    f += ["", "", o.status, *_blank(14), "", ""]  # solicited, whatIf, state, randomize*
    f += [0]  # conditions
    f += _blank(16 + 3 + 5)  # adjusted.., duration, postToAts, autoCancelParent, v170
    return f


def completed_order(o: WireOrder) -> Fields:
    f: Fields = [101, *o.contract.eleven()]
    f += [o.action, o.quantity, o.order_type, _price(o.limit), _price(o.aux), o.tif, "", o.account]
    f += ["", 0, o.order_ref, o.perm_id, 0, 0, 0, "", "", "", ""]
    f += _blank(23)  # modelCode .. deltaNeutralAuxPrice
    f += [*_blank(4), ""]  # continuousUpdate .. trailingPercent, comboLegsDescrip
    f += _combo_legs(o.contract)
    f += [0, 0, *_blank(3), ""]  # order combo legs, params, scale, hedgeType
    f += [*_blank(3), 0, ""]  # clearing.., notHeld, no delta-neutral contract, algo
    f += ["", o.status, "", ""]  # solicited, status, randomize*
    f += [0]  # conditions
    f += [*_blank(6), o.filled, *_blank(6), o.completed_time, o.status]
    f += _blank(5)
    return f


def order_status(o: WireOrder, remaining: float, avg_price: float, last_price: float) -> Fields:
    return [
        3,
        o.order_id,
        o.status,
        o.filled,
        remaining,
        avg_price,
        o.perm_id,
        0,
        last_price,
        o.client_id,
        "",
        0,
    ]


@dataclass(frozen=True, slots=True)
class WireExecution:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    contract: WireContract
    ts: datetime
    account: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str
    commission: float


def exec_details(req_id: int, e: WireExecution) -> Fields:
    return [
        11, req_id, e.order_id, *e.contract.eleven(), e.exec_id, ib_time(e.ts), e.account, "SIMX",
        e.side, e.shares, e.price, e.perm_id, e.client_id, 0, e.cum_qty, e.avg_price, e.order_ref,
        "", "", "", 1, "",
    ]  # fmt: skip


def commission_report(e: WireExecution) -> Fields:
    return [59, 1, e.exec_id, e.commission, USD, UNSET_DOUBLE, UNSET_DOUBLE, ""]


def error(req_id: int, code: int, message: str) -> Fields:
    return [4, 2, req_id, code, message, ""]


def contract_details(req_id: int, c: WireContract, under_con_id: int) -> Fields:
    min_tick = 0.01
    return [
        10, req_id, c.symbol, c.sec_type, c.expiry, c.strike if c.sec_type == "OPT" else 0.0, c.right,
        SMART, USD, c.local_symbol, c.trading_class or c.symbol, c.trading_class or c.symbol, c.con_id,
        min_tick, c.multiplier, "LMT,MKT,STP,STP LMT", "SMART", 1, under_con_id, c.symbol, "SIMX",
        c.expiry[:6], "", "", "", "US/Eastern", "", "", "", "", 0,
        "", c.symbol if c.sec_type == "OPT" else "", "STK" if c.sec_type == "OPT" else "", "", c.expiry,
        "COMMON" if c.sec_type == "STK" else "", 1, 1, 1,
    ]  # fmt: skip


def position(account: str, c: WireContract, quantity: float, avg_cost: float) -> Fields:
    return [61, 3, account, *c.eleven(), quantity, avg_cost]


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> Fields:
    return [1, 6, req_id, tick_type, price, size, 0]


def option_computation(
    req_id: int, iv: float, delta: float, price: float, gamma: float, vega: float, theta: float, under: float
) -> Fields:
    """Model greeks (tick type 13)."""
    return [21, req_id, 13, 0, iv, delta, price, 0.0, gamma, vega, theta, under]


def sec_def_opt_params(
    req_id: int, under_con_id: int, trading_class: str, expiries: list[str], strikes: list[float]
) -> Fields:
    return [
        75,
        req_id,
        SMART,
        under_con_id,
        trading_class,
        "100",
        len(expiries),
        *expiries,
        len(strikes),
        *strikes,
    ]


def historical_data(
    req_id: int, start: str, end: str, bars: list[tuple[int, float, float, float, float, float]]
) -> Fields:
    f: Fields = [17, req_id, start, end, len(bars)]
    for epoch, o, h, low, c, v in bars:
        f += [epoch, o, h, low, c, v, (o + c) / 2, 1]
    return f
