"""The Senex Trident: two put credit spreads and one call credit spread at the money.

``selection`` picks the expiry and strikes, ``pricing`` prices them from the quote cache with
diagnostics, ``cycle`` runs the automated once-a-day entry, ``manager`` decides exits. See
``docs/trident.md``.
"""

from core.strategies.trident.config import (
    DEFAULT_UNDERLYINGS,
    TridentConfig,
    TridentExitConfig,
    UnderlyingSpec,
)
from core.strategies.trident.cycle import (
    NO_VALID_PRICING_EVENT,
    ContextFactory,
    CycleResult,
    CycleStatus,
    TridentCycle,
)
from core.strategies.trident.manager import (
    ExitDecision,
    ExitReason,
    TridentManager,
    TridentPosition,
    closing_legs,
    open_tridents,
)
from core.strategies.trident.pricing import (
    LegDiagnostic,
    PricingDiagnostics,
    QuoteSource,
    SpreadCredit,
    TridentPricing,
    price_trident,
    trident_legs,
)
from core.strategies.trident.selection import (
    ChainSource,
    TridentStrikes,
    choose,
    nearest_expiry,
    round_strike,
    select_strikes,
)

__all__ = [
    "DEFAULT_UNDERLYINGS",
    "NO_VALID_PRICING_EVENT",
    "ChainSource",
    "ContextFactory",
    "CycleResult",
    "CycleStatus",
    "ExitDecision",
    "ExitReason",
    "LegDiagnostic",
    "PricingDiagnostics",
    "QuoteSource",
    "SpreadCredit",
    "TridentConfig",
    "TridentCycle",
    "TridentExitConfig",
    "TridentManager",
    "TridentPosition",
    "TridentPricing",
    "TridentStrikes",
    "UnderlyingSpec",
    "choose",
    "closing_legs",
    "nearest_expiry",
    "open_tridents",
    "price_trident",
    "round_strike",
    "select_strikes",
    "trident_legs",
]
