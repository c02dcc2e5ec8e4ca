"""What Alpaca supports through the adapter, as data."""

from __future__ import annotations

from core.model import OrderType, TimeInForce
from core.ports import BrokerCapabilities

RATE_LIMIT_PER_MINUTE = 200
"""Alpaca's Trading API allows 200 requests a minute per account (HTTP 429 beyond)."""

ALPACA_CAPABILITIES = BrokerCapabilities(
    name="alpaca",
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC}),
    fractional_shares=True,
    options=False,
    multi_leg=False,
    extended_hours=True,
    rate_limit_per_minute=RATE_LIMIT_PER_MINUTE,
    dedupes_client_order_id=True,
)
"""Equities only (options at Alpaca are out of scope); Alpaca refuses a repeated
``client_order_id`` with HTTP 422, which the adapter answers by looking the order up."""
