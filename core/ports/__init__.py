"""Ports: the Protocols that adapters implement."""

from core.ports.cache import CommandInbox, EventLog, QuoteCache, StateBoard
from core.ports.capabilities import BrokerCapabilities
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.ports.market_data import MarketData
from core.ports.notify import DeliveryResult, Notification, Notifier
from core.ports.scorer import Scorer, Scores

__all__ = [
    "BrokerCapabilities",
    "CommandInbox",
    "DeliveryResult",
    "EventLog",
    "Execution",
    "Ledger",
    "MarketData",
    "Notification",
    "Notifier",
    "QuoteCache",
    "Scorer",
    "Scores",
    "StateBoard",
]
