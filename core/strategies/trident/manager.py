"""``TridentManager``: exits of open Tridents (profit target, stop, days to expiry).

An open Trident is a filled entry order of the strategy whose legs the account still holds. Its
cost to close is priced like the entry, mirrored: the mid debit (mid of each short − mid of each
long) and the natural debit (ask of each short − bid of each long). Rules, first match wins:

* stop: the mid debit exceeds the credit by ``stop_loss_multiple`` × credit;
* profit target: at least ``profit_target`` of the credit is captured (mid debit ≤ (1 − target)
  × credit);
* days to expiry: at or below ``close_at_dte`` (``None``: hold, the venue expires or assigns).

The closing suggestion is a debit combination (every leg reversed, same ratios); the execution
service prices it ``min(mid + offset, natural)``. Missing, stale or crossed quotes: no decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.calendar import to_new_york
from core.clock import Clock
from core.model import (
    AccountId,
    InstrumentId,
    OptionContract,
    Order,
    OrderLeg,
    Position,
    Price,
    PriceEffect,
    Quote,
    StrategyId,
    Suggestion,
)
from core.pricing import combo_credit
from core.strategies.trident.config import TridentExitConfig
from core.strategies.trident.pricing import LegDiagnostic, QuoteSource, read_quotes

log = logging.getLogger(__name__)


class ExitReason(StrEnum):
    STOP_LOSS = "stop_loss"
    PROFIT_TARGET = "profit_target"
    DAYS_TO_EXPIRY = "days_to_expiry"


@dataclass(frozen=True, slots=True)
class TridentPosition:
    """An open Trident: its filled entry order and the credit received per combination."""

    entry: Order
    credit: Price

    @property
    def legs(self) -> tuple[OrderLeg, ...]:
        return self.entry.legs

    @property
    def expiry(self) -> date:
        return min(c.expiry for c in _contracts(self.legs))

    @property
    def quantity(self) -> Decimal:
        return self.entry.filled_quantity.value


def _contracts(legs: Iterable[OrderLeg]) -> list[OptionContract]:
    return [g.instrument for g in legs if isinstance(g.instrument, OptionContract)]


def open_tridents(
    orders: Iterable[Order], positions: Iterable[Position], strategy: StrategyId
) -> list[TridentPosition]:
    """Filled credit entries of ``strategy`` whose every leg is still held on the right side.

    Positions are per instrument, so two Tridents on the same strikes are told apart only by
    their entry orders (each is reported while the combined holding covers it).
    """
    held = {p.instrument.id: p.net for p in positions}
    found: list[TridentPosition] = []
    for order in orders:
        if (
            order.strategy != strategy
            or order.price_effect is not PriceEffect.CREDIT
            or order.avg_fill_price is None
            or order.filled_quantity.is_zero
        ):
            continue
        need = order.filled_quantity.value
        if all(
            leg.side.sign * held.get(leg.instrument.id, Decimal(0)) >= leg.ratio * need for leg in order.legs
        ):
            found.append(TridentPosition(order, order.avg_fill_price))
    return found


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Close ``position`` for ``reason`` with ``suggestion`` (quotes: for the risk context)."""

    position: TridentPosition
    reason: ExitReason
    suggestion: Suggestion
    mid_debit: Price
    natural_debit: Price
    captured: Decimal
    """Fraction of the credit kept if closed at mid (negative: a loss)."""
    quotes: dict[InstrumentId, Quote]
    legs: tuple[LegDiagnostic, ...]


def closing_legs(legs: Sequence[OrderLeg]) -> tuple[OrderLeg, ...]:
    return tuple(OrderLeg(g.instrument, g.side.opposite, g.ratio) for g in legs)


class TridentManager:
    """Decides exits of the open Tridents of one account."""

    def __init__(
        self,
        account_id: AccountId,
        quotes: QuoteSource,
        clock: Clock,
        config: TridentExitConfig | None = None,
        strategy: StrategyId | None = None,
    ) -> None:
        self.account_id = account_id
        self.config = config or TridentExitConfig()
        self.strategy = strategy or StrategyId("trident")
        self._quotes = quotes
        self._clock = clock

    def decide(self, orders: Iterable[Order], positions: Iterable[Position]) -> list[ExitDecision]:
        """Exit decisions for every open Trident in ``orders`` and ``positions`` (a ledger's)."""
        decisions = (self.evaluate(p) for p in open_tridents(orders, positions, self.strategy))
        return [d for d in decisions if d is not None]

    def evaluate(self, position: TridentPosition) -> ExitDecision | None:
        """The exit ``position`` needs now, or None (hold, expired, or no usable quotes)."""
        now = self._clock.now()
        session = to_new_york(now).date()
        if position.expiry < session:
            return None
        legs = closing_legs(position.legs)
        roles = [(f"{g.side.value} {g.instrument.id}", g.instrument) for g in legs]
        contracts = [(r, c) for r, c in roles if isinstance(c, OptionContract)]
        quotes, diags, problems = read_quotes(contracts, self._quotes, now, self.config.max_quote_age_s)
        if problems:
            log.warning("Trident %s not evaluated: %s", position.entry.client_order_id, "; ".join(problems))
            return None
        combo = combo_credit(legs, quotes)
        assert combo is not None  # read_quotes found every leg's quote
        natural_debit, mid_debit = -combo[0], -combo[1]
        credit = position.credit.value
        reason = self._reason(credit, mid_debit, (position.expiry - session).days)
        if reason is None:
            return None
        if mid_debit <= 0 or natural_debit <= 0:
            log.warning(
                "Trident %s: close costs nothing at %s; left to expire",
                position.entry.client_order_id,
                mid_debit,
            )
            return None
        suggestion = Suggestion(
            account_id=self.account_id,
            strategy=self.strategy,
            session=session,
            signal=f"exit:{position.entry.client_order_id}:{reason}",
            legs=legs,
            quantity=position.entry.filled_quantity,
            created_at=now,
            mid=Price(mid_debit),
            natural=Price(natural_debit),
            price_effect=PriceEffect.DEBIT,
            reason=f"Trident exit ({reason}): credit {credit}, mid debit {mid_debit}",
            quotes_ts=min(q.ts for q in quotes.values()),
        )
        captured = (credit - mid_debit) / credit
        return ExitDecision(
            position, reason, suggestion, Price(mid_debit), Price(natural_debit), captured, quotes, diags
        )

    def _reason(self, credit: Decimal, mid_debit: Decimal, dte: int) -> ExitReason | None:
        cfg = self.config
        if mid_debit - credit >= cfg.stop_loss_multiple * credit:
            return ExitReason.STOP_LOSS
        if credit - mid_debit >= cfg.profit_target * credit:
            return ExitReason.PROFIT_TARGET
        if cfg.close_at_dte is not None and dte <= cfg.close_at_dte:
            return ExitReason.DAYS_TO_EXPIRY
        return None
