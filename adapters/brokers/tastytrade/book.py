"""``OrderBook``: what the Tastytrade adapter knows of its orders, from streamer pushes and REST.

Both sources go through ``apply(PlacedOrder)``: a fill is recorded once (by its fill id), a
status only moves forward, so a push that REST already showed (or the reverse) changes nothing.
Orders are ours when their ``external-identifier`` is one of our client order ids; an order
found only at the broker (after a restart) is rebuilt from what the broker reports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from tastytrade.order import OrderType as TtType
from tastytrade.order import PlacedOrder

from adapters.brokers.tastytrade.parsing import STATUSES, instrument_of, side_of
from core.clock import Clock
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated
from core.model import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Fill,
    FillId,
    Instrument,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    PriceEffect,
    Quantity,
    TimeInForce,
)

TYPES = {TtType.LIMIT: OrderType.LIMIT, TtType.MARKET: OrderType.MARKET, TtType.STOP: OrderType.STOP}
TYPES[TtType.STOP_LIMIT] = OrderType.STOP_LIMIT


@dataclass
class Tracked:
    """One of our orders: its current broker id (a quantity change places a new one)."""

    order: Order
    broker_id: int | None
    fill_ids: set[str] = field(default_factory=set)
    leg_filled: dict[Instrument, Decimal] = field(default_factory=dict)
    leg_value: dict[Instrument, Decimal] = field(default_factory=dict)
    base_filled: Decimal = Decimal(0)
    """Combinations filled under earlier broker ids (before a quantity change)."""


class OrderBook:
    """Orders, fills and undelivered events of one account (see the module docstring)."""

    def __init__(self, account_id: AccountId, clock: Clock) -> None:
        self.account_id = account_id
        self.clock = clock
        self.lock = threading.RLock()
        self.orders: dict[ClientOrderId, Tracked] = {}
        self.by_broker: dict[int, ClientOrderId] = {}
        self.fills: list[Fill] = []
        self.events: list[ExecutionEvent] = []

    def track(self, order: Order, broker_id: int | None) -> Tracked:
        with self.lock:
            tracked = self.orders.get(order.client_order_id)
            if tracked is None:
                tracked = self.orders[order.client_order_id] = Tracked(order, broker_id)
            elif broker_id is not None and tracked.broker_id != broker_id:
                tracked.base_filled = tracked.order.filled_quantity.value
                tracked.leg_filled.clear()
                tracked.broker_id = broker_id
            if broker_id is not None:
                self.by_broker[broker_id] = order.client_order_id
            return tracked

    def reject(self, order: Order, reason: str) -> Order:
        now = self.clock.now()
        rejected = order.transition(OrderStatus.REJECTED, now, reason)
        with self.lock:
            self.orders[order.client_order_id] = Tracked(rejected, None)
            self.events.append(OrderUpdated(rejected, now))
        return rejected

    def matches(self, placed: PlacedOrder) -> bool:
        """True when ``placed`` tells nothing new (every fill recorded, the status reflected)."""
        with self.lock:
            cid = self.by_broker.get(placed.id)
            tracked = self.orders.get(cid) if cid else None
            if tracked is None:
                return False
            fills = {f.fill_id for leg in placed.legs for f in leg.fills or []}
            status = STATUSES.get(placed.status)
            moved = status is not None and tracked.order.status.can_transition_to(status)
            return fills <= tracked.fill_ids and not (moved and status is not tracked.order.status)

    def apply(self, placed: PlacedOrder) -> None:
        """Record what ``placed`` says of one of our orders (see the module docstring)."""
        with self.lock:
            cid = self.by_broker.get(placed.id)
            if cid is None:
                if not placed.external_identifier:
                    return
                cid = ClientOrderId(placed.external_identifier)
                known = self.orders.get(cid)
                if known is not None and known.broker_id is not None and known.broker_id > placed.id:
                    return  # an order this one was replaced by is the current one
                self.track(known.order if known else self._rebuild(cid, placed), placed.id)
            tracked = self.orders[cid]
            if tracked.broker_id != placed.id:
                self._fills(tracked, placed)  # a replaced order's late fills still count
                return
            changed = self._fills(tracked, placed)
            status = STATUSES.get(placed.status)
            order = tracked.order
            if (
                status is not None
                and status is not order.status
                and status
                not in (
                    OrderStatus.FILLED,
                    OrderStatus.PARTIALLY_FILLED,
                )
            ) and order.status.can_transition_to(status):
                at = placed.terminal_at or placed.updated_at or self.clock.now()
                tracked.order = order.transition(status, at, placed.reject_reason or "")
                changed = True
            if changed:
                self.events.append(OrderUpdated(tracked.order, tracked.order.updated_at or self.clock.now()))

    def _fills(self, tracked: Tracked, placed: PlacedOrder) -> bool:
        order = tracked.order
        ratios = {leg.instrument: leg.ratio for leg in order.legs}
        new: list[Fill] = []
        for leg in placed.legs:
            instrument = instrument_of(leg.symbol, leg.instrument_type)
            if instrument is None or instrument not in ratios:
                continue
            for f in leg.fills or []:
                if f.fill_id in tracked.fill_ids:
                    continue
                tracked.fill_ids.add(f.fill_id)
                tracked.leg_filled[instrument] = tracked.leg_filled.get(instrument, Decimal(0)) + f.quantity
                tracked.leg_value[instrument] = (
                    tracked.leg_value.get(instrument, Decimal(0)) + f.quantity * f.fill_price
                )
                new.append(
                    Fill(
                        FillId(f"tt-{placed.id}-{f.fill_id}"),
                        order.client_order_id,
                        self.account_id,
                        instrument,
                        side_of(leg.action),
                        Quantity(f.quantity),
                        Price(f.fill_price),
                        f.filled_at,
                        broker_order_id=BrokerOrderId(str(placed.id)),
                    )
                )
        if not new:
            return False
        combos = tracked.base_filled + min(
            tracked.leg_filled.get(leg.instrument, Decimal(0)) / leg.ratio for leg in order.legs
        )
        delta = combos - order.filled_quantity.value
        if delta > 0:
            avg = self._net_price(tracked)
            prev = order.avg_fill_price.value if order.avg_fill_price else Decimal(0)
            price = (avg * combos - prev * order.filled_quantity.value) / delta
            at = max(f.ts for f in new)
            filled = order.with_fill(Quantity(delta), Price(max(price, Decimal(0))), at)
            tracked.order = replace(filled, avg_fill_price=Price(avg))
        self.fills.extend(new)
        self.events.extend(OrderFilled(f) for f in new)
        return delta > 0

    @staticmethod
    def _net_price(tracked: Tracked) -> Decimal:
        order = tracked.order
        if not order.is_multi_leg:
            only = order.legs[0].instrument
            return tracked.leg_value[only] / tracked.leg_filled[only]
        net = Decimal(0)
        for leg in order.legs:
            qty = tracked.leg_filled.get(leg.instrument)
            if not qty:
                continue
            avg = tracked.leg_value[leg.instrument] / qty
            net += (avg if leg.side is OrderSide.SELL else -avg) * leg.ratio
        return (
            abs(net)
            if order.price_effect is None
            else (net if order.price_effect is PriceEffect.CREDIT else -net)
        )

    def _rebuild(self, cid: ClientOrderId, placed: PlacedOrder) -> Order:
        instruments = [instrument_of(leg.symbol, leg.instrument_type) for leg in placed.legs]
        qtys = [leg.quantity or Decimal(0) for leg in placed.legs]
        size = placed.size or min(qtys)
        legs = tuple(
            OrderLeg(i, side_of(leg.action), int(q / size))
            for i, leg, q in zip(instruments, placed.legs, qtys, strict=True)
            if i is not None
        )
        price = abs(placed.price) if placed.price is not None else None
        effect = None
        if len(legs) > 1 and placed.price is not None:
            effect = PriceEffect.CREDIT if placed.price > 0 else PriceEffect.DEBIT
        created: datetime = placed.received_at or placed.updated_at
        order = Order(
            client_order_id=cid,
            account_id=self.account_id,
            legs=legs,
            quantity=Quantity(size),
            order_type=TYPES.get(placed.order_type, OrderType.LIMIT),
            created_at=created,
            time_in_force=TimeInForce.GTC if placed.time_in_force.value == "GTC" else TimeInForce.DAY,
            limit_price=Price(price) if price else None,
            stop_price=Price(placed.stop_trigger) if placed.stop_trigger else None,
            price_effect=effect,
        )
        return order.submitted(created, BrokerOrderId(str(placed.id)))
