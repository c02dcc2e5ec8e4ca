"""Configuration of the simulated exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from adapters.brokers.sim.fees import (
    CommissionModel,
    FeeModel,
    NoFees,
    NoSlippage,
    SlippageModel,
    StandardCommission,
)
from core.errors import ConfigError


class FillOn(StrEnum):
    """Which market update fills a working order (see ``docs/simulated-exchange.md``).

    * ``NEXT_BAR_OPEN``: market orders fill at the next bar's open (plus slippage); limits and
      stops are judged against that bar's OHLC with the conservative rules in ``matching``.
    * ``NEXT_QUOTE``: market orders fill at the next quote's ask (buys) or bid (sells); limits
      when that quote crosses them.

    Orders with option legs always match on quotes: options are quoted, not barred.
    """

    NEXT_BAR_OPEN = "next_bar_open"
    NEXT_QUOTE = "next_quote"


@dataclass(frozen=True, slots=True)
class SimExchangeConfig:
    """How the simulated exchange fills, charges and margins orders.

    ``max_participation`` caps a fill at that share of a bar's volume. A quote fills up to its
    displayed size; a quote without sizes (0) fills up to ``quote_depth`` (``None``: no cap).
    ``margin_multiplier`` is the leverage of margin accounts (2 = Reg T overnight).
    ``fsync`` makes every state write survive a power cut, not just a killed process.
    ``account_fill_ids`` names fills ``<account>:SIM-F00000001``: unique across accounts whose
    venues (one per account, each numbering from 1) report into one shared ledger.
    """

    fill_on: FillOn = FillOn.NEXT_BAR_OPEN
    max_participation: Decimal = Decimal("0.1")
    quote_depth: Decimal | None = None
    commission: CommissionModel = field(default_factory=StandardCommission)
    fees: FeeModel = field(default_factory=NoFees)
    slippage: SlippageModel = field(default_factory=NoSlippage)
    margin_multiplier: Decimal = Decimal(2)
    price_decimals: int = 4
    currency: str = "USD"
    fsync: bool = True
    account_fill_ids: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "fill_on", FillOn(self.fill_on))
        if not Decimal(0) < Decimal(self.max_participation) <= 1:
            raise ConfigError(f"max_participation must be in (0, 1], got {self.max_participation}")
        if self.quote_depth is not None and self.quote_depth <= 0:
            raise ConfigError(f"quote_depth must be positive or None, got {self.quote_depth}")
        if self.margin_multiplier < 1:
            raise ConfigError(f"margin_multiplier must be at least 1, got {self.margin_multiplier}")
        if not 0 <= self.price_decimals <= 8:
            raise ConfigError(f"price_decimals must be in [0, 8], got {self.price_decimals}")
