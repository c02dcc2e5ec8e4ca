"""The trading plane's pure core: one account's cycle, recovery, monitoring and overrides.

``AccountService`` holds every decision; the Ray account actor is a thin shell around it.
See ``docs/trading-plane.md``.
"""

from core.trading.account import AccountService
from core.trading.commands import ControlState, Override, OverrideResult, parse_command
from core.trading.config import AccountPurger, AccountRuntimeConfig, feature_set_of
from core.trading.latency import LatencyRecorder
from core.trading.reports import CycleReport, RecoveryReport
from core.trading.sizing import Sizing, SizingPolicy, size_position
from core.trading.window import RollingBars

__all__ = [
    "AccountPurger",
    "AccountRuntimeConfig",
    "AccountService",
    "ControlState",
    "CycleReport",
    "LatencyRecorder",
    "Override",
    "OverrideResult",
    "RecoveryReport",
    "RollingBars",
    "Sizing",
    "SizingPolicy",
    "feature_set_of",
    "parse_command",
    "size_position",
]
