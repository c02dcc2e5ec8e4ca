"""The simulated exchange: a venue with accounts, matching, fees, expiry and durable state.

``SimExchange`` is the venue; ``SimExecutionClient`` and ``SimMarketData`` put it behind the
``Execution`` and ``MarketData`` ports. See ``docs/simulated-exchange.md``.
"""

from adapters.brokers.sim.capabilities import SIM_CAPABILITIES
from adapters.brokers.sim.config import FillOn, SimExchangeConfig
from adapters.brokers.sim.data import SimMarketData
from adapters.brokers.sim.exchange import SimExchange, always_open
from adapters.brokers.sim.execution import SimExecutionClient
from adapters.brokers.sim.faults import SimFaults
from adapters.brokers.sim.fees import (
    BpsSlippage,
    CommissionModel,
    FeeModel,
    NoFees,
    NoSlippage,
    PercentCommission,
    PerContractCommission,
    PerShareCommission,
    RegulatoryFees,
    SlippageModel,
    StandardCommission,
    TickSlippage,
    ZeroCommission,
)

__all__ = [
    "SIM_CAPABILITIES",
    "BpsSlippage",
    "CommissionModel",
    "FeeModel",
    "FillOn",
    "NoFees",
    "NoSlippage",
    "PerContractCommission",
    "PerShareCommission",
    "PercentCommission",
    "RegulatoryFees",
    "SimExchange",
    "SimExchangeConfig",
    "SimExecutionClient",
    "SimFaults",
    "SimMarketData",
    "SlippageModel",
    "StandardCommission",
    "TickSlippage",
    "ZeroCommission",
    "always_open",
]
