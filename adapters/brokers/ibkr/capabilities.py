"""What Interactive Brokers supports through the adapter, as data."""

from __future__ import annotations

from core.model import OrderType, TimeInForce
from core.ports import BrokerCapabilities

IBKR_CAPABILITIES = BrokerCapabilities(
    name="ibkr",
    order_types=frozenset(OrderType),
    time_in_force=frozenset(TimeInForce),
    fractional_shares=False,
    options=True,
    multi_leg=True,
    extended_hours=False,
    rate_limit_per_minute=45 * 60,
    dedupes_client_order_id=False,
)
"""IB does not refuse a repeated ``orderRef``: the adapter looks it up before sending."""
