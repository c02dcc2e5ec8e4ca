"""What a broker can do, as data: strategies branch on capabilities, never on broker names."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import OrderType, TimeInForce


@dataclass(frozen=True, slots=True)
class BrokerCapabilities:
    name: str
    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    fractional_shares: bool
    options: bool
    multi_leg: bool
    extended_hours: bool
    rate_limit_per_minute: int | None
    dedupes_client_order_id: bool
    """True when the broker itself refuses a second order with the same client id (Alpaca);
    False when the adapter must look the id up before resubmitting (Tastytrade, IB's orderRef)."""

    def supports(self, order_type: OrderType, tif: TimeInForce) -> bool:
        return order_type in self.order_types and tif in self.time_in_force
