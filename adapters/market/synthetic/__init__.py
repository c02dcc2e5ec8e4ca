"""A deterministic synthetic market: 1-minute bars over real XNYS sessions, quotes and
Black-Scholes option chains, with optional, tunable edges (intraday mean reversion, swing
trends). See ``docs/data.md``."""

from adapters.market.synthetic.bars import (
    SessionGrid,
    SymbolPath,
    daily_bars,
    generate_bars,
    simulate_symbol,
)
from adapters.market.synthetic.config import (
    DEFAULT_SYMBOLS,
    SymbolParams,
    SyntheticMarketConfig,
    stable_hash,
    symbol_rng,
)
from adapters.market.synthetic.market import Quote, SyntheticMarket
from adapters.market.synthetic.options import (
    ChainConfig,
    Expiry,
    OptionQuote,
    expiries,
    is_third_friday,
    option_chain,
    option_quotes,
    skewed_vol,
)

__all__ = [
    "DEFAULT_SYMBOLS",
    "ChainConfig",
    "Expiry",
    "OptionQuote",
    "Quote",
    "SessionGrid",
    "SymbolParams",
    "SymbolPath",
    "SyntheticMarket",
    "SyntheticMarketConfig",
    "daily_bars",
    "expiries",
    "generate_bars",
    "is_third_friday",
    "option_chain",
    "option_quotes",
    "simulate_symbol",
    "skewed_vol",
    "stable_hash",
    "symbol_rng",
]
