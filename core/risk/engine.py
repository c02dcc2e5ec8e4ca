"""The risk engine: runs the rules in order over a suggestion and its context."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.errors import InvalidValue
from core.model import Suggestion
from core.risk.book import is_exit
from core.risk.rules import DEFAULT_RULES, RiskRule
from core.risk.types import RiskContext, RiskDecision, RiskLimits


class RiskEngine:
    """Pure pre-trade checks of one account's limits. Holds no state between checks."""

    def __init__(self, limits: RiskLimits, rules: Sequence[RiskRule] = DEFAULT_RULES) -> None:
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise InvalidValue(f"risk rule names must be unique, got {names}")
        self.limits = limits
        self.rules = tuple(rules)

    def _denials(self, suggestion: Suggestion, ctx: RiskContext, exit_only: bool) -> Iterator[RiskDecision]:
        for rule in self.rules:
            if exit_only and not rule.applies_to_exits:
                continue
            denial = rule.evaluate(suggestion, ctx, self.limits)
            if denial is not None:
                yield denial

    def check(self, suggestion: Suggestion, ctx: RiskContext) -> RiskDecision:
        """The first failing rule's denial, or an approval."""
        exit_only = is_exit(suggestion, ctx)
        for denial in self._denials(suggestion, ctx, exit_only):
            return denial
        if exit_only:
            return RiskDecision.approve("approved (exit: only reduces existing positions)")
        return RiskDecision.approve()

    def check_all(self, suggestion: Suggestion, ctx: RiskContext) -> list[RiskDecision]:
        """Every failing rule's denial, in rule order; empty when the suggestion is approved."""
        return list(self._denials(suggestion, ctx, is_exit(suggestion, ctx)))
