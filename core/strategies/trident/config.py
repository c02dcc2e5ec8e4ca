"""Configuration of the Senex Trident: underlyings, strikes, pricing limits, retries and exits."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import ConfigError
from core.model import StrategyId


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """An underlying the Trident may trade and how its strikes are laid out.

    ``strike_rounding``: the short strikes are the spot rounded to the nearest multiple of it
    (2 → even strikes). ``wing_width``: points between the short and the long strike.
    ``root``: keep only contracts of this OCC root (``SPXW``); empty keeps every root.
    """

    symbol: str
    strike_rounding: Decimal = Decimal(2)
    wing_width: Decimal = Decimal(3)
    root: str = ""

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ConfigError("UnderlyingSpec.symbol must not be empty")
        if self.strike_rounding <= 0:
            raise ConfigError(f"UnderlyingSpec.strike_rounding must be positive, got {self.strike_rounding}")
        if self.wing_width <= 0:
            raise ConfigError(f"UnderlyingSpec.wing_width must be positive, got {self.wing_width}")


DEFAULT_UNDERLYINGS: tuple[UnderlyingSpec, ...] = (
    UnderlyingSpec("QQQ"),
    UnderlyingSpec("SPX", strike_rounding=Decimal(5), wing_width=Decimal(5)),
)
"""QQQ preferred (even strikes, 3-point wings); SPX fallback on its 5-point grid."""


@dataclass(frozen=True, slots=True)
class TridentConfig:
    """The entry side: what to open, from which quotes, how often to try.

    ``put_spreads`` / ``call_spreads`` are the leg ratios of the one combination order
    (2 put verticals + 1 call vertical); ``quantity`` counts such combinations.
    """

    strategy: StrategyId = field(default_factory=lambda: StrategyId("trident"))
    underlyings: tuple[UnderlyingSpec, ...] = DEFAULT_UNDERLYINGS
    target_dte: int = 45
    put_spreads: int = 2
    call_spreads: int = 1
    quantity: int = 1
    max_quote_age_s: float = 30.0
    attempts: int = 3
    retry_delay_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.underlyings:
            raise ConfigError("TridentConfig.underlyings must not be empty")
        for name in ("target_dte", "put_spreads", "call_spreads", "quantity", "attempts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TridentConfig.{name} must be at least 1, got {getattr(self, name)}")
        if not self.max_quote_age_s > 0:
            raise ConfigError(f"TridentConfig.max_quote_age_s must be positive, got {self.max_quote_age_s}")
        if self.retry_delay_s < 0:
            raise ConfigError(f"TridentConfig.retry_delay_s must not be negative, got {self.retry_delay_s}")


@dataclass(frozen=True, slots=True)
class TridentExitConfig:
    """When an open Trident is closed.

    ``profit_target``: close once this fraction of the entry credit is captured (0.5: the cost
    to close at mid is at most half the credit). ``stop_loss_multiple``: close once the loss at
    mid reaches this multiple of the credit. ``close_at_dte``: close at or below this many days
    to expiry; ``None`` holds through expiry (the venue expires or assigns).
    """

    profit_target: Decimal = Decimal("0.5")
    stop_loss_multiple: Decimal = Decimal(2)
    close_at_dte: int | None = 21
    max_quote_age_s: float = 30.0

    def __post_init__(self) -> None:
        if not Decimal(0) < self.profit_target <= 1:
            raise ConfigError(f"TridentExitConfig.profit_target must be in (0, 1], got {self.profit_target}")
        if self.stop_loss_multiple <= 0:
            raise ConfigError(
                f"TridentExitConfig.stop_loss_multiple must be positive, got {self.stop_loss_multiple}"
            )
        if self.close_at_dte is not None and self.close_at_dte < 0:
            raise ConfigError(f"TridentExitConfig.close_at_dte must not be negative, got {self.close_at_dte}")
        if not self.max_quote_age_s > 0:
            raise ConfigError(
                f"TridentExitConfig.max_quote_age_s must be positive, got {self.max_quote_age_s}"
            )
