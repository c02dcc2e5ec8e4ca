"""The domain model: identifiers, value objects, instruments, orders, fills, positions, balances."""

from core.model.accounts import AccountBalance
from core.model.fills import Fill
from core.model.identifiers import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    FillId,
    Identifier,
    InstrumentId,
    StrategyId,
)
from core.model.instruments import (
    AssetClass,
    Equity,
    Instrument,
    OptionContract,
    OptionRight,
    instrument_from_id,
)
from core.model.market import Bar, OptionQuote, Quote
from core.model.orders import (
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    PriceEffect,
    TimeInForce,
)
from core.model.positions import Position
from core.model.suggestions import Suggestion
from core.model.values import Money, Price, Quantity

__all__ = [
    "AccountBalance",
    "AccountId",
    "AssetClass",
    "Bar",
    "BrokerOrderId",
    "ClientOrderId",
    "Equity",
    "Fill",
    "FillId",
    "Identifier",
    "Instrument",
    "InstrumentId",
    "Money",
    "OptionContract",
    "OptionQuote",
    "OptionRight",
    "Order",
    "OrderLeg",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "Price",
    "PriceEffect",
    "Quantity",
    "Quote",
    "StrategyId",
    "Suggestion",
    "TimeInForce",
    "instrument_from_id",
]
