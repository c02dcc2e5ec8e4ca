"""Pure pre-trade risk rules: a suggestion in a context is approved or denied with a reason."""

from core.risk.book import is_exit
from core.risk.engine import RiskEngine
from core.risk.rules import DEFAULT_RULES, RiskRule, RuleCheck
from core.risk.types import RiskContext, RiskDecision, RiskLimits

__all__ = [
    "DEFAULT_RULES",
    "RiskContext",
    "RiskDecision",
    "RiskEngine",
    "RiskLimits",
    "RiskRule",
    "RuleCheck",
    "is_exit",
]
