"""What the simulated exchange supports, as data."""

from __future__ import annotations

from core.model import OrderType, TimeInForce
from core.ports import BrokerCapabilities

SIM_CAPABILITIES = BrokerCapabilities(
    name="sim",
    order_types=frozenset(OrderType),
    time_in_force=frozenset(TimeInForce),
    fractional_shares=True,
    options=True,
    multi_leg=True,
    extended_hours=False,
    rate_limit_per_minute=None,
    dedupes_client_order_id=True,
)
