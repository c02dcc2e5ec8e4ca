"""From the synthetic option chain to the domain's ``Quote`` and ``OptionQuote``.

The demo pushes chain quotes into the simulated exchange (``SimExchange.on_quote``) and the quote
cache (``QuoteCache.put``) with ``push``; ``SyntheticOptionChains`` is a chain source in domain
types for strategies (``MarketData.option_chain``'s shape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.options import OptionQuote as SyntheticOptionQuote
from core.model import Price, Quote
from core.model.market import OptionQuote


def to_quote(q: SyntheticOptionQuote) -> Quote:
    """The contract's bid and ask at the chain's time (floats taken by their shortest repr)."""
    return Quote(q.contract.id, Price(q.bid), Price(q.ask), q.ts)


def to_option_quote(q: SyntheticOptionQuote) -> OptionQuote:
    """The domain option quote: the quote plus underlying price, IV, greeks and theo."""
    return OptionQuote(
        contract=q.contract,
        quote=to_quote(q),
        underlying_price=q.underlying_price,
        iv=q.iv,
        delta=q.delta,
        gamma=q.gamma,
        theta=q.theta,
        vega=q.vega,
        theo=q.theo,
    )


def chain_quotes(chain: Iterable[SyntheticOptionQuote]) -> list[Quote]:
    return [to_quote(q) for q in chain]


def push(quotes: Iterable[Quote], *sinks: Callable[[Quote], None]) -> int:
    """Give every quote to every sink (e.g. ``exchange.on_quote``, ``cache.put``); returns the count."""
    n = 0
    for quote in quotes:
        for sink in sinks:
            sink(quote)
        n += 1
    return n


class SyntheticOptionChains:
    """``option_chain(underlying, at)`` of a ``SyntheticMarket`` in domain types."""

    def __init__(self, market: SyntheticMarket) -> None:
        self._market = market

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        return [to_option_quote(q) for q in self._market.option_chain(underlying, at)]
