"""raydesk configs: typed settings (pydantic-settings) and the shipped profiles.

``load_settings(profile)`` is the entry point; see docs/configuration.md for the fields, the
profiles and the precedence of the layers.
"""

from configs.accounts import AccountConfig, BrokerCredentials, RiskLimits
from configs.components import (
    DataConfig,
    GatesConfig,
    LedgerConfig,
    MarketConfig,
    RedisConfig,
    SchedulerConfig,
    ServeConfig,
    TrainingConfig,
)
from configs.loading import load_settings
from configs.render import render
from configs.settings import Settings
from configs.sources import available_profiles

__all__ = [
    "AccountConfig",
    "BrokerCredentials",
    "DataConfig",
    "GatesConfig",
    "LedgerConfig",
    "MarketConfig",
    "RedisConfig",
    "RiskLimits",
    "SchedulerConfig",
    "ServeConfig",
    "Settings",
    "TrainingConfig",
    "available_profiles",
    "load_settings",
    "render",
]
