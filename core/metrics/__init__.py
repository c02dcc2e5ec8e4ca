"""Trading metrics from the desk's typed messages (``TradingMetrics``)."""

from core.metrics.trading import TradingMetrics

__all__ = ["TradingMetrics"]
