"""Options accounts: the Senex Trident, reading chains only through the ``MarketData`` port.

An account whose strategies include ``trident`` gets an ``OptionsDesk``. ``PortChains`` reads
the chain of its underlying from the port (expirations, contracts, option quotes with greeks)
once per instant. Each minute the desk pushes the quotes of the contracts it needs, the four
legs the cycle would choose now plus every contract held or working, into the venue feed (a
simulated exchange fills working combinations on them; a real broker has none) and the quote
cache (which the cycle and the manager price from). ``run_cycle`` runs ``TridentCycle``;
``exits`` runs ``TridentManager`` and sends its closing orders through the same
``ExecutionService``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock
from core.errors import ConfigError, DataError, TemporaryError
from core.execution import ExecutionResult, ExecutionService
from core.learning import Mark
from core.model import (
    AccountId,
    InstrumentId,
    Money,
    OptionContract,
    OrderStatus,
    Quote,
)
from core.model.market import OptionQuote
from core.ports.cache import QuoteCache
from core.ports.execution import Execution
from core.ports.ledger import Ledger
from core.ports.market_data import MarketData, VenueFeed
from core.risk import RiskContext
from core.strategies.trident import (
    CycleResult,
    ExitDecision,
    TridentConfig,
    TridentCycle,
    TridentExitConfig,
    TridentManager,
    TridentStrikes,
    UnderlyingSpec,
    select_strikes,
)
from core.trading.blackout import Blackout

TRIDENT: Final = "trident"
OPEN_STATUSES: Final = tuple(s for s in OrderStatus if s.is_open)


@dataclass(frozen=True, slots=True)
class OptionsSpec:
    """How an options account trades its Trident; the defaults are the strategy's own.

    ``underlying``: a synthetic symbol (default: the account's first data symbol). ``exits``:
    the manager's rules. ``OptionsSpec.demo()`` is the short-dated setting of the demo.
    """

    underlying: str | None = None
    target_dte: int = 45
    exits: TridentExitConfig = field(default_factory=TridentExitConfig)

    @classmethod
    def demo(cls) -> OptionsSpec:
        """Demo only: 6 days out, half the credit as target, closed at 2 days to expiry.

        One Trident entered on a session is open at its close (a daily snapshot) and closed on
        a later one (an exit snapshot) within a two or three session replay.
        """
        return cls(target_dte=6, exits=TridentExitConfig(profit_target=Decimal("0.5"), close_at_dte=2))


def underlying_spec(symbol: str, spot: float, max_risk: Decimal, put_spreads: int = 2) -> UnderlyingSpec:
    """Even strikes and a wing of about 1 % of ``spot``, narrowed until the worst loss fits ``max_risk``."""
    by_price = max(1, math.floor(spot * 0.01))
    by_risk = max(1, math.floor(float(max_risk) / (100 * put_spreads)))
    return UnderlyingSpec(symbol, strike_rounding=Decimal(2), wing_width=Decimal(min(by_price, by_risk)))


class PortChains:
    """A ``ChainSource`` over the ``MarketData`` port: the chain of ``(underlying, at)`` read once.

    ``at`` is the account clock's now, the instant the port prices at.
    """

    def __init__(self, market: MarketData) -> None:
        self._market = market
        self._key: tuple[str, datetime] | None = None
        self._chain: list[OptionQuote] = []

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        if self._key != (underlying, at):
            contracts = [
                c
                for e in self._market.expirations(underlying)
                for c in self._market.option_contracts(underlying, e)
            ]
            self._chain = self._market.option_quotes(contracts)
            self._key = (underlying, at)
        return self._chain

    def option_quotes(
        self, underlying: str, at: datetime, contracts: Iterable[OptionContract]
    ) -> list[OptionQuote]:
        """The quotes of just ``contracts`` (from the chain when it was read at ``at``)."""
        wanted = list(contracts)
        if not wanted:
            return []
        if self._key == (underlying, at):
            ids = {c.id for c in wanted}
            return [q for q in self._chain if q.contract.id in ids]
        return self._market.option_quotes(wanted)


class OptionsDesk:
    """One account's Trident: quotes, the entry cycle and the exits."""

    def __init__(
        self,
        account_id: AccountId,
        execution: ExecutionService,
        ledger: Ledger,
        broker: Execution,
        quotes: QuoteCache,
        chains: PortChains,
        clock: Clock,
        calendar: MarketCalendar,
        config: TridentConfig,
        exits: TridentExitConfig,
        venue: VenueFeed | None = None,
        blackout: Blackout | None = None,
    ) -> None:
        self.account_id = account_id
        self.config = config
        self._blackout = blackout
        self._execution = execution
        self._ledger = ledger
        self._broker = broker
        self._quotes = quotes
        self._chains = chains
        self._clock = clock
        self._calendar = calendar
        self._venue = venue
        self._session_start: tuple[date, Decimal] | None = None
        self.cycle = TridentCycle(
            execution, ledger, chains, quotes, clock, self.context, calendar.is_open, config
        )
        self.manager = TridentManager(account_id, quotes, clock, exits, config.strategy)
        self.quote_failures = 0

    @property
    def underlying(self) -> str:
        return self.config.underlyings[0].symbol

    # -- quotes ----------------------------------------------------------------------------
    def publish(self, now: datetime, picks: bool = False) -> int:
        """Push the quotes of the contracts held or worked now into the venue and the cache.

        With ``picks``, also those of the strikes the entry cycle would pick now (the full chain
        is priced only then: every minute it would cost more than the rest of the account).
        Returns the count.
        """
        wanted = self._held()
        try:
            quotes = self._chains.option_quotes(self.underlying, now, wanted.values())
            if picks:
                chain = self._chains.option_chain(self.underlying, now)
                picked = self.strikes(chain, now)
                if picked is not None:
                    legs = (picked.short_put, picked.long_put, picked.short_call, picked.long_call)
                    ids = {c.id for c in legs} - wanted.keys()
                    quotes += [q for q in chain if q.contract.id in ids]
        except DataError:
            return 0
        plain = [q.quote for q in quotes]
        if self._venue is not None:
            self._venue.on_quotes(plain)
        try:
            self._quotes.put_many(plain)
        except TemporaryError:
            self.quote_failures += 1  # the cycle then finds no fresh quote and records why
        return len(quotes)

    def strikes(self, chain: list[OptionQuote], now: datetime) -> TridentStrikes | None:
        if not chain:
            return None
        spec = self.config.underlyings[0]
        picked = select_strikes(chain, spec, to_new_york(now).date(), self.config.target_dte)
        return picked if isinstance(picked, TridentStrikes) else None

    def _held(self) -> dict[InstrumentId, OptionContract]:
        """The option contracts of open positions and working orders, by id."""
        held = {
            p.instrument.id: p.instrument
            for p in self._ledger.positions(self.account_id)
            if not p.is_flat and isinstance(p.instrument, OptionContract)
        }
        for order in self._ledger.orders(self.account_id, OPEN_STATUSES):
            held |= {
                g.instrument.id: g.instrument for g in order.legs if isinstance(g.instrument, OptionContract)
            }
        return held

    def marks(self, now: datetime) -> dict[str, Mark]:
        """Option quotes (with greeks) of every held contract and the underlying's quote."""
        try:
            quotes = self._chains.option_quotes(self.underlying, now, self._held().values())
        except DataError:
            quotes = []
        marks: dict[str, Mark] = {str(q.contract.id): q for q in quotes}
        try:
            under = self._quotes.get(self.underlying)
        except TemporaryError:
            under = None
        if under is not None:
            marks[self.underlying] = under
        return marks

    # -- trading ---------------------------------------------------------------------------
    def context(self, quotes: Mapping[InstrumentId, Quote]) -> RiskContext:
        """The risk context now, with ``quotes`` (the legs being priced)."""
        now = self._clock.now()
        balance = self._broker.balance()
        day = to_new_york(now).date()
        if self._session_start is None or self._session_start[0] != day:
            self._session_start = (day, balance.equity.amount)
        return RiskContext(
            now=now,
            market_open=self._calendar.is_open(now),
            balance=balance,
            positions={p.instrument.id: p for p in self._ledger.positions(self.account_id) if not p.is_flat},
            open_orders=self._ledger.orders(self.account_id, OPEN_STATUSES),
            daily_pnl=Money(balance.equity.amount - self._session_start[1], balance.equity.currency),
            quotes=dict(quotes),
            blackout=self._blackout(day) if self._blackout is not None else {},
        )

    def run_cycle(self) -> CycleResult:
        """The entry cycle, on the quotes of the strikes it picks published just before."""
        self.publish(self._clock.now(), picks=True)
        return self.cycle.run()

    def exits(self) -> list[tuple[ExitDecision, ExecutionResult]]:
        """The manager's exit decisions, each sent as a closing combination."""
        orders = self._ledger.orders(self.account_id)
        decisions = self.manager.decide(orders, self._ledger.positions(self.account_id))
        return [(d, self._execution.execute(d.suggestion, self.context(d.quotes))) for d in decisions]

    def leg_marks(self, result: CycleResult, now: datetime) -> dict[str, Mark]:
        """The chain's option quotes of ``result``'s legs (for the entry snapshot)."""
        if result.suggestion is None:
            return {}
        ids = {g.instrument.id for g in result.suggestion.legs}
        chain = self._chains.option_chain(self.underlying, now)
        marks: dict[str, Mark] = {str(q.contract.id): q for q in chain if q.contract.id in ids}
        under = self._quotes.get(self.underlying)
        if under is not None:
            marks[self.underlying] = under
        return marks


def build_options_desk(
    account_id: AccountId,
    execution: ExecutionService,
    ledger: Ledger,
    broker: Execution,
    quotes: QuoteCache,
    market: MarketData,
    clock: Clock,
    spec: OptionsSpec,
    underlying: str,
    max_risk: Decimal,
    venue: VenueFeed | None,
    blackout: Blackout | None = None,
) -> OptionsDesk:
    """The desk of an options account trading ``underlying`` from ``market``'s chains."""
    chains = PortChains(market)
    try:
        chain = chains.option_chain(underlying, clock.now())
    except DataError as exc:
        raise ConfigError(f"options underlying {underlying!r}: no option chain ({exc})") from exc
    if not chain:
        raise ConfigError(
            f"options underlying {underlying!r}: empty option chain at {clock.now().isoformat()}"
        )
    config = TridentConfig(
        underlyings=(underlying_spec(underlying, chain[0].underlying_price, max_risk),),
        target_dte=spec.target_dte,
    )
    return OptionsDesk(
        account_id,
        execution,
        ledger,
        broker,
        quotes,
        chains,
        clock,
        MarketCalendar(),
        config,
        spec.exits,
        venue,
        blackout,
    )
