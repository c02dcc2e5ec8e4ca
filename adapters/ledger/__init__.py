"""The SQLite ledger: the durable record of orders, fills, positions, guards and events."""

from adapters.ledger.schema import LATEST_VERSION
from adapters.ledger.sqlite import SqliteLedger

__all__ = ["LATEST_VERSION", "SqliteLedger"]
