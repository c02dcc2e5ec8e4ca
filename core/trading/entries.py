"""The entry pipeline: strategy intents → (model scores) → sized suggestions → execution.

``EntryPipeline.run`` takes the entry intents that passed the account's gates and:

1. with a scorer, scores each strategy's feature rows; an entry needs a score above
   ``min_score``. A scorer that fails (any exception) leaves the rules in charge, and the
   fallback is recorded (``trading.score_fallback`` in the ledger, a counter in the state);
2. reads the quotes (a cache failure counts as no quote: the risk engine then denies with
   ``stale_quote``) and the broker's balance once;
3. sizes each entry (``sizing.size_position``) and builds its ``Suggestion`` (signal
   ``"{symbol}:{side}:{bar ts}"``, session = the bar's New York date);
4. executes them through ``ExecutionService`` with a ``RiskContext`` that includes the orders
   placed earlier in the same cycle: every order of the event is checked and written ahead
   with its stop and target in one ledger commit, then sent, then the acknowledgements are
   recorded in a second commit. Bar-to-submit latency is taken as each submission returns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock
from core.errors import TemporaryError
from core.execution import ExecutionResult, ExecutionService, Sent
from core.model import (
    AccountBalance,
    AccountId,
    Equity,
    InstrumentId,
    Money,
    Order,
    OrderLeg,
    OrderSide,
    Position,
    Price,
    Quantity,
    Quote,
    StrategyId,
    Suggestion,
)
from core.ports.cache import QuoteCache
from core.ports.ledger import Ledger
from core.ports.scorer import Scorer
from core.risk import RiskContext, RiskLimits
from core.risk.book import held_keys
from core.strategies import Intent
from core.trading.blackout import Blackout
from core.trading.config import AccountRuntimeConfig, feature_set_of
from core.trading.features import EventFeatures, sizing_atr
from core.trading.protections import Protection, ProtectionBook
from core.trading.sizing import SizingPolicy, size_position, stop_price, target_price
from core.trading.window import RollingBars

PRICE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry intent of one strategy on the bars of one timeframe."""

    strategy: str
    intent: Intent
    timeframe: str

    @property
    def label(self) -> str:
        return f"{self.strategy}:{self.intent.symbol}:{self.intent.side}"


@dataclass(slots=True)
class EntryOutcome:
    """What the pipeline did with a batch of candidates."""

    results: list[ExecutionResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    balance: AccountBalance | None = None


@dataclass(frozen=True, slots=True)
class Book:
    """What the account holds and has working, from the ledger."""

    positions: Mapping[InstrumentId, Position]
    open_orders: Sequence[Order]


class EntryPipeline:
    """Scores, sizes and executes entries for one account."""

    def __init__(
        self,
        account_id: AccountId,
        config: AccountRuntimeConfig,
        limits: RiskLimits,
        execution: ExecutionService,
        ledger: Ledger,
        quotes: QuoteCache,
        scorer: Scorer | None,
        clock: Clock,
        calendar: MarketCalendar,
        protections: ProtectionBook,
        balance: Callable[[], AccountBalance],
        daily_pnl: Callable[[AccountBalance, date], Money],
        blackout: Blackout | None = None,
    ) -> None:
        self.account_id = account_id
        self.config = config
        self.limits = limits
        self._execution = execution
        self._ledger = ledger
        self._quotes = quotes
        self._scorer = scorer
        self._clock = clock
        self._calendar = calendar
        self._protections = protections
        self._balance = balance
        self._daily_pnl = daily_pnl
        self._blackout = blackout
        self.fallbacks: Counter[str] = Counter()
        self.scored: Counter[str] = Counter()
        self.model_versions: dict[str, str] = {}

    # -- scoring ---------------------------------------------------------------------------
    def _score(
        self, candidates: list[Candidate], features: EventFeatures, out: EntryOutcome
    ) -> list[Candidate]:
        if self._scorer is None or not candidates:
            return candidates
        kept: list[Candidate] = []
        by_strategy: dict[tuple[str, str], list[Candidate]] = {}
        for c in candidates:
            by_strategy.setdefault((c.strategy, c.timeframe), []).append(c)
        for (strategy, timeframe), group in by_strategy.items():
            try:
                found = features.rows(timeframe, feature_set_of(timeframe), {c.intent.symbol for c in group})
                rows = [found[c.intent.symbol] for c in group]
                scores = self._scorer.score(strategy, rows)
                if len(scores.scores) != len(rows):
                    raise ValueError(f"{len(scores.scores)} scores for {len(rows)} rows")
            except Exception as exc:  # any failure of the model path falls back to the rules
                self.fallbacks[strategy] += 1
                out.fallbacks.append(strategy)
                self._ledger.append_event(
                    "trading.score_fallback",
                    {
                        "alert": "score_fallback",
                        "strategy": strategy,
                        "error": f"{type(exc).__name__}: {exc}",
                        "symbols": [c.intent.symbol for c in group],
                        "count": self.fallbacks[strategy],
                    },
                    self.account_id,
                )
                kept += group
                continue
            self.scored[strategy] += len(rows)
            self.model_versions[strategy] = out.model_versions[strategy] = scores.model_version
            for c, score in zip(group, scores.scores, strict=True):
                if math.isfinite(score) and score > self.config.min_score:
                    kept.append(c)
                else:
                    out.skipped.append(f"{c.label}: model score {score:.4g} <= {self.config.min_score:g}")
        return kept

    # -- the pipeline ----------------------------------------------------------------------
    def run(
        self,
        candidates: list[Candidate],
        features: EventFeatures,
        book: Book,
        halted: bool,
        execute: bool,
        started: float | None,
        elapsed_ms: Callable[[float], float],
    ) -> EntryOutcome:
        """Score, size and (``execute``) send ``candidates``; otherwise record suggestions only."""
        out = EntryOutcome()
        candidates = self._score(candidates, features, out)
        if not candidates:
            return out
        now = self._clock.now()
        try:
            balance = self._balance()
        except TemporaryError as exc:
            out.skipped += [f"{c.label}: broker unavailable ({exc})" for c in candidates]
            return out
        out.balance = balance
        quotes = self._read_quotes({c.intent.symbol for c in candidates})
        day = to_new_york(now).date()
        ctx = RiskContext(
            now=now,
            market_open=self._calendar.is_open(now),
            balance=balance,
            positions=dict(book.positions),
            open_orders=list(book.open_orders),
            daily_pnl=self._daily_pnl(balance, day),
            quotes=quotes,
            halted=halted,
            halt_reason="kill switch" if halted else "",
            blackout=self._blackout(day) if self._blackout is not None else {},
        )
        # Every write-ahead record of this event (and its stop and target) in one commit, then
        # the submissions, then their acknowledgements in a second commit.
        prepared: list[Order] = []
        with self._ledger.batch():
            committed = Decimal(0)
            for c in candidates:
                held = len(held_keys(ctx))
                window = features.window(c.timeframe)
                suggestion = self._suggest(c, window, quotes, balance, committed, held, now)
                if isinstance(suggestion, str):
                    out.skipped.append(f"{c.label}: {suggestion}")
                    continue
                out.suggestions.append(suggestion)
                if not execute:
                    self._ledger.append_event(
                        "trading.suggestion", _suggestion_payload(suggestion), self.account_id
                    )
                    continue
                order = self._execution.prepare(suggestion, ctx)
                if isinstance(order, ExecutionResult):
                    out.results.append(order)
                    continue
                prepared.append(order)
                committed += suggestion.quantity.value * (suggestion.natural or Price(0)).value
                ctx = replace(ctx, open_orders=[*ctx.open_orders, order])
                self._protections.record(_protection(c, suggestion, order))
        sent: list[Sent] = []
        for order in prepared:
            sent.append(answer := self._execution.send(order))
            if started is not None and answer.accepted:
                out.latency_ms.append(elapsed_ms(started))
        with self._ledger.batch():
            out.results += [self._execution.record(s) for s in sent]
        return out

    def _read_quotes(self, symbols: set[str]) -> dict[InstrumentId, Quote]:
        try:
            return self._quotes.get_many(sorted(symbols))
        except TemporaryError:
            return {}

    def _suggest(
        self,
        c: Candidate,
        window: RollingBars,
        quotes: Mapping[InstrumentId, Quote],
        balance: AccountBalance,
        committed: Decimal,
        held: int,
        now: datetime,
    ) -> Suggestion | str:
        intent = c.intent
        long = intent.side == "long"
        quote = quotes.get(InstrumentId(intent.symbol))
        last = window.latest(intent.symbol)
        if quote is not None:
            entry = float((quote.ask if long else quote.bid).value)
        elif last is not None:
            entry = float(last["close"])
        else:
            return "no price"
        stop = intent.stop
        if stop is None:
            atr = sizing_atr(window, intent.symbol, self._session_open(intent.ts, c.timeframe))
            stop = stop_price(entry, intent.side, atr, self.config.atr_stop_multiple)
        if stop is None or (stop >= entry if long else stop <= entry):
            return "no usable stop (strategy gave none and the ATR is not warm yet)"
        target = (
            intent.target if intent.target is not None else target_price(entry, stop, self.config.reward_risk)
        )
        policy = SizingPolicy(
            bankroll=self.config.bankroll,
            max_positions=min(self.config.max_positions, self.limits.max_open_positions),
            risk_fraction=self.config.risk_fraction,
            max_risk_per_trade=self.limits.max_risk_per_trade.amount,
            max_exposure_per_symbol=self.limits.max_exposure_per_symbol.amount,
            fraction_step=PRICE_PLACES if self.config.fractional else None,
        )
        sizing = size_position(policy, _dec(entry), _dec(stop), balance.buying_power.amount - committed, held)
        if not sizing.tradable:
            return f"size zero ({sizing.limited_by})"
        session = to_new_york(intent.ts).date()
        return Suggestion(
            account_id=self.account_id,
            strategy=StrategyId(c.strategy),
            session=session,
            signal=f"{intent.symbol}:{intent.side}:{intent.ts.isoformat()}",
            legs=(OrderLeg(Equity(intent.symbol), OrderSide.BUY if long else OrderSide.SELL),),
            quantity=Quantity(sizing.quantity),
            created_at=now,
            mid=None if quote is None else quote.mid,
            natural=None if quote is None else (quote.ask if long else quote.bid),
            stop=Price(_dec(stop)),
            target=None if target is None else Price(_dec(target)),
            confidence=min(max(intent.confidence, 0.0), 1.0),
            reason=f"{c.strategy} {intent.side} entry; size limited by {sizing.limited_by}",
            quotes_ts=None if quote is None else quote.ts,
        )

    def _session_open(self, ts: datetime, timeframe: str) -> datetime | None:
        if feature_set_of(timeframe) != "intraday":
            return None
        day = to_new_york(ts).date()
        return self._calendar.session_open_close(day)[0] if self._calendar.is_session(day) else None


def _protection(c: Candidate, suggestion: Suggestion, order: Order) -> Protection:
    return Protection(
        symbol=c.intent.symbol,
        strategy=c.strategy,
        side=c.intent.side,
        stop=None if suggestion.stop is None else float(suggestion.stop.value),
        target=None if suggestion.target is None else float(suggestion.target.value),
        client_order_id=str(order.client_order_id),
    )


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(PRICE_PLACES)


def _suggestion_payload(s: Suggestion) -> dict[str, Any]:
    return {
        "client_order_id": str(s.client_order_id),
        "strategy": str(s.strategy),
        "signal": s.signal,
        "symbol": str(s.instrument),
        "side": s.side.value,
        "quantity": str(s.quantity.value),
        "mid": None if s.mid is None else str(s.mid.value),
        "stop": None if s.stop is None else str(s.stop.value),
        "target": None if s.target is None else str(s.target.value),
    }
