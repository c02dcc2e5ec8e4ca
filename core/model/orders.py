"""Orders and their status state machine.

An ``Order`` is immutable: every change (a status transition, a fill) returns a new order, so
what the ledger recorded and what an actor holds can never silently diverge.

Status transitions (anything else raises ``IllegalTransition``)::

    PENDING ──► SUBMITTED ──► ACCEPTED ──► PARTIALLY_FILLED ──► FILLED
       │            │            │               │
       └► REJECTED  ├► REJECTED  ├► CANCELLED    ├► CANCELLED
          CANCELLED ├► CANCELLED └► EXPIRED      └► EXPIRED
                    ├► PARTIALLY_FILLED / FILLED (fills reported before the acceptance)
                    └► EXPIRED
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from core.errors import IllegalTransition, InvalidValue
from core.model.identifiers import AccountId, BrokerOrderId, ClientOrderId, StrategyId
from core.model.instruments import Instrument, OptionContract
from core.model.values import Price, Quantity


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"


class PriceEffect(StrEnum):
    """Whether a multi-leg order's net price is received (credit) or paid (debit)."""

    CREDIT = "credit"
    DEBIT = "debit"


class OrderStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Working at (or on its way to) the broker: may still fill."""
        return not self.is_terminal

    @property
    def counts_as_trade(self) -> bool:
        """True for statuses that block a second trade under the once-per-day guard."""
        return self not in _FAILED

    def can_transition_to(self, new: OrderStatus) -> bool:
        return new in _TRANSITIONS[self]


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_FAILED = frozenset({OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_S = OrderStatus
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELLED}),
    _S.SUBMITTED: frozenset(
        {_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED}
    ),
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderLeg:
    """One leg of an order: ``ratio`` units of ``instrument`` per unit of the order."""

    instrument: Instrument
    side: OrderSide
    ratio: int = 1

    def __post_init__(self) -> None:
        if self.ratio <= 0:
            raise InvalidValue(f"leg ratio must be positive, got {self.ratio}")


class HasLegs:
    """Views shared by everything made of legs (orders and suggestions)."""

    __slots__ = ()
    legs: tuple[OrderLeg, ...]

    @property
    def is_multi_leg(self) -> bool:
        return len(self.legs) > 1

    @property
    def instrument(self) -> Instrument:
        """The instrument of a single-leg order or suggestion."""
        if self.is_multi_leg:
            raise InvalidValue(f"a multi-leg {type(self).__name__.lower()} has no single instrument")
        return self.legs[0].instrument

    @property
    def side(self) -> OrderSide:
        """The side of a single-leg order or suggestion."""
        if self.is_multi_leg:
            raise InvalidValue(f"a multi-leg {type(self).__name__.lower()} has no single side")
        return self.legs[0].side


@dataclass(frozen=True, slots=True)
class Order(HasLegs):
    """An order for one instrument or a multi-leg combination.

    For a multi-leg order ``quantity`` counts combinations, ``limit_price`` is the positive net
    price per combination and ``price_effect`` says whether it is a credit or a debit.
    """

    client_order_id: ClientOrderId
    account_id: AccountId
    legs: tuple[OrderLeg, ...]
    quantity: Quantity
    order_type: OrderType
    created_at: datetime
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Price | None = None
    stop_price: Price | None = None
    price_effect: PriceEffect | None = None
    strategy: StrategyId | None = None
    status: OrderStatus = OrderStatus.PENDING
    filled_quantity: Quantity = field(default_factory=lambda: Quantity(0))
    avg_fill_price: Price | None = None
    broker_order_id: BrokerOrderId | None = None
    updated_at: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.legs:
            raise InvalidValue("an order needs at least one leg")
        if self.quantity.value <= 0:
            raise InvalidValue(f"order quantity must be positive, got {self.quantity}")
        if self.created_at.tzinfo is None:
            raise InvalidValue("order timestamps must be timezone-aware")
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise InvalidValue(
                f"{self.order_type} order {'needs' if needs_limit else 'takes no'} limit price"
            )
        if needs_stop != (self.stop_price is not None):
            raise InvalidValue(f"{self.order_type} order {'needs' if needs_stop else 'takes no'} stop price")
        for p in (self.limit_price, self.stop_price):
            if p is not None and p.value <= 0:
                raise InvalidValue(f"order prices must be positive, got {p}")
        if self.is_multi_leg:
            if self.order_type not in (OrderType.LIMIT, OrderType.MARKET):
                raise InvalidValue("multi-leg orders are market or limit orders")
            if self.price_effect is None and self.order_type is OrderType.LIMIT:
                raise InvalidValue("a multi-leg limit order needs a price effect (credit or debit)")
            if len({leg.instrument for leg in self.legs}) != len(self.legs):
                raise InvalidValue("multi-leg order has the same instrument twice")
        if self.filled_quantity > self.quantity:
            raise InvalidValue(f"filled {self.filled_quantity} exceeds order quantity {self.quantity}")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def single(
        cls,
        client_order_id: ClientOrderId,
        account_id: AccountId,
        instrument: Instrument,
        side: OrderSide,
        quantity: Quantity | int | str | Decimal,
        created_at: datetime,
        order_type: OrderType = OrderType.MARKET,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
        time_in_force: TimeInForce = TimeInForce.DAY,
        strategy: StrategyId | None = None,
    ) -> Order:
        """A single-instrument order (market, limit, stop or stop-limit)."""
        return cls(
            client_order_id=client_order_id,
            account_id=account_id,
            legs=(OrderLeg(instrument, side),),
            quantity=Quantity(quantity) if not isinstance(quantity, Quantity) else quantity,
            order_type=order_type,
            created_at=created_at,
            time_in_force=time_in_force,
            limit_price=limit_price,
            stop_price=stop_price,
            strategy=strategy,
        )

    @classmethod
    def combo(
        cls,
        client_order_id: ClientOrderId,
        account_id: AccountId,
        legs: tuple[OrderLeg, ...],
        quantity: Quantity | int,
        limit_price: Price,
        price_effect: PriceEffect,
        created_at: datetime,
        time_in_force: TimeInForce = TimeInForce.DAY,
        strategy: StrategyId | None = None,
    ) -> Order:
        """A multi-leg limit order with a net limit price and a price effect."""
        if len(legs) < 2:
            raise InvalidValue("a combination order needs at least two legs")
        return cls(
            client_order_id=client_order_id,
            account_id=account_id,
            legs=legs,
            quantity=quantity if isinstance(quantity, Quantity) else Quantity(quantity),
            order_type=OrderType.LIMIT,
            created_at=created_at,
            time_in_force=time_in_force,
            limit_price=limit_price,
            price_effect=price_effect,
            strategy=strategy,
        )

    # -- views -----------------------------------------------------------------------------
    @property
    def leaves_quantity(self) -> Quantity:
        return self.quantity - self.filled_quantity

    @property
    def is_option_order(self) -> bool:
        return any(isinstance(leg.instrument, OptionContract) for leg in self.legs)

    # -- transitions -----------------------------------------------------------------------
    def transition(self, status: OrderStatus, at: datetime, reason: str = "") -> Order:
        """This order in ``status``; raises ``IllegalTransition`` if the move is not allowed."""
        if not self.status.can_transition_to(status):
            raise IllegalTransition(f"order {self.client_order_id}: {self.status} -> {status} is not allowed")
        return replace(self, status=status, updated_at=at, reason=reason or self.reason)

    def submitted(self, at: datetime, broker_order_id: BrokerOrderId | None = None) -> Order:
        order = self.transition(OrderStatus.SUBMITTED, at)
        return replace(order, broker_order_id=broker_order_id or self.broker_order_id)

    def with_fill(self, quantity: Quantity, price: Price, at: datetime) -> Order:
        """This order after a fill of ``quantity`` (combinations for multi-leg) at ``price``."""
        if quantity.value <= 0:
            raise InvalidValue(f"fill quantity must be positive, got {quantity}")
        if quantity > self.leaves_quantity:
            raise InvalidValue(
                f"order {self.client_order_id}: fill {quantity} exceeds leaves {self.leaves_quantity}"
            )
        filled = self.filled_quantity + quantity
        status = OrderStatus.FILLED if filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        order = self.transition(status, at)
        prev = self.avg_fill_price.value if self.avg_fill_price else Decimal(0)
        avg = (prev * self.filled_quantity.value + price.value * quantity.value) / filled.value
        return replace(order, filled_quantity=filled, avg_fill_price=Price(avg))
