"""What Tastytrade supports through the adapter, as data."""

from __future__ import annotations

from core.model import OrderType, TimeInForce
from core.ports import BrokerCapabilities

TASTYTRADE_CAPABILITIES = BrokerCapabilities(
    name="tastytrade",
    order_types=frozenset(OrderType),
    time_in_force=frozenset(TimeInForce),
    fractional_shares=False,
    options=True,
    multi_leg=True,
    extended_hours=False,
    rate_limit_per_minute=120,
    dedupes_client_order_id=False,
)
"""``external-identifier`` is kept but not deduplicated: the adapter looks it up before sending."""
