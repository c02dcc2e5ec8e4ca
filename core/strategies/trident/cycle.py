"""``TridentCycle``: one account's automated daily Trident (the seed's daily trade cycle).

``run`` does, in order:

1. skip when the once-per-day guard shows a trade today (any order that is not cancelled,
   rejected or expired); the guard itself is taken atomically by the ledger at submission;
2. skip when the market is closed;
3. up to ``attempts`` tries, ``retry_delay_s`` apart, to choose strikes and price them from the
   quote cache; a refused pricing (stale, missing, crossed, non-positive credit) is retried;
4. all tries refused: no trade, a ``trident.no_valid_pricing`` event in the ledger;
5. risk and execution through ``ExecutionService.execute`` with ``once_per_day``. The
   suggestion carries the raw mid and natural credit: the service applies the account's entry
   offset once (``max(mid − offset, natural)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.calendar import to_new_york
from core.clock import Clock
from core.execution import ExecutionOutcome, ExecutionService
from core.model import InstrumentId, Money, Order, PriceEffect, Quantity, Quote, Suggestion
from core.ports.ledger import GuardKey, Ledger
from core.risk import RiskContext
from core.risk.pricing import combo_max_loss
from core.strategies.trident.config import TridentConfig
from core.strategies.trident.pricing import PricingDiagnostics, QuoteSource, TridentPricing, price_trident
from core.strategies.trident.selection import ChainSource, choose

log = logging.getLogger(__name__)

ContextFactory = Callable[[Mapping[InstrumentId, Quote]], RiskContext]
"""Builds the risk context now, with the given leg quotes in ``RiskContext.quotes``."""

NO_VALID_PRICING_EVENT = "trident.no_valid_pricing"


class CycleStatus(StrEnum):
    SUBMITTED = "submitted"
    SKIPPED_TRADED_TODAY = "skipped_traded_today"
    SKIPPED_MARKET_CLOSED = "skipped_market_closed"
    NO_VALID_PRICING = "no_valid_pricing_after_retries"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CycleResult:
    """What one cycle did. ``diagnostics`` has one entry per pricing attempt."""

    status: CycleStatus
    attempts: int = 0
    diagnostics: tuple[PricingDiagnostics, ...] = ()
    order: Order | None = None
    suggestion: Suggestion | None = None
    reason: str = ""


_OUTCOMES: dict[ExecutionOutcome, CycleStatus] = {
    ExecutionOutcome.SUBMITTED: CycleStatus.SUBMITTED,
    ExecutionOutcome.DENIED: CycleStatus.DENIED,
    ExecutionOutcome.SKIPPED_GUARD: CycleStatus.SKIPPED_TRADED_TODAY,
    ExecutionOutcome.DUPLICATE: CycleStatus.SKIPPED_TRADED_TODAY,
    ExecutionOutcome.BLOCKED_UNRECONCILED: CycleStatus.FAILED,
    ExecutionOutcome.FAILED: CycleStatus.FAILED,
}


class TridentCycle:
    """The automated Trident of the account ``execution`` trades for."""

    def __init__(
        self,
        execution: ExecutionService,
        ledger: Ledger,
        chains: ChainSource,
        quotes: QuoteSource,
        clock: Clock,
        context: ContextFactory,
        is_open: Callable[[datetime], bool],
        config: TridentConfig | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config or TridentConfig()
        self.account_id = execution.account_id
        self._execution = execution
        self._ledger = ledger
        self._chains = chains
        self._quotes = quotes
        self._clock = clock
        self._context = context
        self._is_open = is_open
        self._sleep = sleep or self._clock_sleep

    def _clock_sleep(self, seconds: float) -> None:
        self._clock.sleep_until(self._clock.now() + timedelta(seconds=seconds))

    def run(self) -> CycleResult:
        start = self._clock.now()
        session = to_new_york(start).date()
        holder = self._ledger.guard_holder(GuardKey(self.account_id, self.config.strategy, session))
        if holder is not None:
            log.info("%s already has a Trident today (%s); skipping", self.account_id, holder.client_order_id)
            return CycleResult(
                CycleStatus.SKIPPED_TRADED_TODAY,
                order=holder,
                reason=f"traded today: {holder.client_order_id}",
            )
        if not self._is_open(start):
            return CycleResult(
                CycleStatus.SKIPPED_MARKET_CLOSED, reason=f"market closed at {start.isoformat()}"
            )
        pricing, diagnostics = self._generate()
        if pricing is None:
            return self._no_valid_pricing(diagnostics)
        ctx = self._context(pricing.quotes)
        suggestion = self.suggestion(pricing, ctx, start)
        result = self._execution.execute(suggestion, ctx)
        status = _OUTCOMES[result.outcome]
        log.info("Trident %s for %s: %s", status, self.account_id, result.reason)
        return CycleResult(status, len(diagnostics), diagnostics, result.order, suggestion, result.reason)

    def _generate(self) -> tuple[TridentPricing | None, tuple[PricingDiagnostics, ...]]:
        seen: list[PricingDiagnostics] = []
        cfg = self.config
        for attempt in range(1, cfg.attempts + 1):
            now = self._clock.now()
            picked = choose(self._chains, cfg.underlyings, now, to_new_york(now).date(), cfg.target_dte)
            if isinstance(picked, list):
                diag = PricingDiagnostics(attempt, now, problems=tuple(picked))
                log.error("No usable option chain: %s", "; ".join(picked))
                pricing = None
            else:
                pricing, diag = price_trident(picked, self._quotes, now, cfg, attempt)
            seen.append(diag)
            if pricing is not None:
                log.info("Trident priced on attempt %d/%d", attempt, cfg.attempts)
                return pricing, tuple(seen)
            if attempt < cfg.attempts:
                log.warning("Attempt %d/%d failed; retrying in %gs", attempt, cfg.attempts, cfg.retry_delay_s)
                self._sleep(cfg.retry_delay_s)
        return None, tuple(seen)

    def _no_valid_pricing(self, diagnostics: tuple[PricingDiagnostics, ...]) -> CycleResult:
        reason = f"no valid pricing after {len(diagnostics)} attempts: " + "; ".join(diagnostics[-1].problems)
        self._ledger.append_event(
            NO_VALID_PRICING_EVENT,
            {
                "strategy": str(self.config.strategy),
                "attempts": len(diagnostics),
                "diagnostics": [d.payload() for d in diagnostics],
            },
            self.account_id,
        )
        log.error("%s: %s", self.account_id, reason)
        return CycleResult(CycleStatus.NO_VALID_PRICING, len(diagnostics), diagnostics, reason=reason)

    def suggestion(self, pricing: TridentPricing, ctx: RiskContext, start: datetime) -> Suggestion:
        """The once-per-day suggestion at the raw credits (the execution service adds the offset).

        The signal names the strikes and the cycle's start minute, so a rerun of the same cycle
        finds its order while a later cycle (after a cancelled one) makes a new one.
        """
        s = pricing.strikes
        qty = self.config.quantity
        loss = combo_max_loss(pricing.legs, -pricing.natural.value, ctx.currency)
        return Suggestion(
            account_id=self.account_id,
            strategy=self.config.strategy,
            session=to_new_york(start).date(),
            signal=f"{s.underlying}:{s.expiry.isoformat()}:{s.short_put.strike}:{to_new_york(start):%H%M}",
            legs=pricing.legs,
            quantity=Quantity(qty),
            created_at=self._clock.now(),
            mid=pricing.mid,
            natural=pricing.natural,
            price_effect=PriceEffect.CREDIT,
            reason=f"Senex Trident {s.label}",
            max_risk=loss * qty if loss is not None else Money.zero(ctx.currency),
            once_per_day=True,
            quotes_ts=pricing.quotes_ts,
        )
