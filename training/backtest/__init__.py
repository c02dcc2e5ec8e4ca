"""The backtester: strategy signals over whole frames, an event loop over orders only."""

from training.backtest.engine import BacktestConfig, Sizing, run_backtest, simulate
from training.backtest.fills import Commission, RelativeCommission, SimCommission
from training.backtest.result import TRADE_SCHEMA, BacktestResult

__all__ = [
    "TRADE_SCHEMA",
    "BacktestConfig",
    "BacktestResult",
    "Commission",
    "RelativeCommission",
    "SimCommission",
    "Sizing",
    "run_backtest",
    "simulate",
]
