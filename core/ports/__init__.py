"""Ports: the Protocols that adapters implement."""

from core.ports.capabilities import BrokerCapabilities
from core.ports.execution import Execution
from core.ports.market_data import MarketData
from core.ports.scorer import Scorer, Scores

__all__ = ["BrokerCapabilities", "Execution", "MarketData", "Scorer", "Scores"]
