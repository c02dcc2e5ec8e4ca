"""Execution: entry pricing, the execution service and reconciliation with the broker."""

from core.execution.pricing import (
    SpreadPricing,
    entry_limit,
    entry_limit_buy,
    entry_limit_credit,
    entry_limit_debit,
    entry_limit_sell,
    price_spread,
)
from core.execution.reconcile import Reconciler, ReconcileResult
from core.execution.service import (
    ExecutionOutcome,
    ExecutionResult,
    ExecutionService,
    ProcessedEvents,
    RetryPolicy,
    Sent,
)

__all__ = [
    "ExecutionOutcome",
    "ExecutionResult",
    "ExecutionService",
    "ProcessedEvents",
    "ReconcileResult",
    "Reconciler",
    "RetryPolicy",
    "Sent",
    "SpreadPricing",
    "entry_limit",
    "entry_limit_buy",
    "entry_limit_credit",
    "entry_limit_debit",
    "entry_limit_sell",
    "price_spread",
]
