"""The ``Metrics`` port: counters, gauges and histograms of the trading desk, by name.

Every metric the desk emits is declared in ``TRADING_METRICS`` (kind, description, tag keys,
histogram boundaries), so an adapter can create them up front and a dashboard can be checked
against them. Tags are low-cardinality (account, strategy, rule, status, task, symbol): never
an order or fill id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol, runtime_checkable

from core.errors import InvalidValue

__all__ = ["FORBIDDEN_TAGS", "TRADING_METRICS", "MetricKind", "MetricSpec", "Metrics", "check_tags"]

MetricKind = Literal["counter", "gauge", "histogram"]

_LATENCY_MS: Final = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: MetricKind
    description: str
    tags: tuple[str, ...]
    boundaries: tuple[float, ...] = ()


def _specs(*specs: MetricSpec) -> dict[str, MetricSpec]:
    return {s.name: s for s in specs}


TRADING_METRICS: Final = _specs(
    MetricSpec("raydesk_orders", "counter", "Orders written to the ledger (new or adopted).", ("account",)),
    MetricSpec(
        "raydesk_order_updates", "counter", "Order state changes by new status.", ("account", "status")
    ),
    MetricSpec("raydesk_fills", "counter", "Fills recorded in the ledger.", ("account", "side")),
    MetricSpec("raydesk_denials", "counter", "Orders the risk engine denied, by rule.", ("account", "rule")),
    MetricSpec(
        "raydesk_pricing_retries", "counter", "Pricing attempts after the first.", ("account", "strategy")
    ),
    MetricSpec("raydesk_pricing_cycles", "counter", "Pricing cycles by outcome.", ("account", "outcome")),
    MetricSpec(
        "raydesk_scoring_fallbacks",
        "counter",
        "Rule fall-backs when scoring failed.",
        ("account", "strategy"),
    ),
    MetricSpec("raydesk_equity", "gauge", "Account equity at the daily report.", ("account",)),
    MetricSpec("raydesk_pnl", "gauge", "Equity minus bankroll at the daily report.", ("account",)),
    MetricSpec("raydesk_realized_pnl", "gauge", "Realised P&L at the daily report.", ("account",)),
    MetricSpec(
        "raydesk_bar_to_order_ms",
        "histogram",
        "Bar close to order submission, ms.",
        ("account",),
        _LATENCY_MS,
    ),
    MetricSpec(
        "raydesk_cycle_ms", "histogram", "One bar cycle of an account, ms.", ("account",), _LATENCY_MS
    ),
    MetricSpec("raydesk_quote_age_seconds", "gauge", "Age of the latest quote per symbol.", ("symbol",)),
    MetricSpec(
        "raydesk_reconciliation_blocked",
        "gauge",
        "1 while reconciliation blocks trading, else 0.",
        ("account",),
    ),
    MetricSpec("raydesk_discrepancies", "counter", "Reconciliation discrepancies found.", ("account",)),
    MetricSpec("raydesk_kernel_failures", "counter", "Kernel steps that raised.", ("account", "during")),
    MetricSpec("raydesk_task_runs", "counter", "Scheduled task runs by status.", ("task", "status")),
)

FORBIDDEN_TAGS: Final = frozenset({"client_order_id", "order_id", "fill_id", "broker_order_id"})


def check_tags(spec: MetricSpec, tags: Mapping[str, str]) -> None:
    """Tags must be exactly the spec's (never an id: one series per order would explode)."""
    if set(tags) != set(spec.tags):
        raise InvalidValue(f"metric {spec.name} takes tags {sorted(spec.tags)}, got {sorted(tags)}")


@runtime_checkable
class Metrics(Protocol):
    """Where metric updates go (Ray's Prometheus export in production)."""

    def inc(self, name: str, value: float, tags: Mapping[str, str]) -> None: ...
    def set(self, name: str, value: float, tags: Mapping[str, str]) -> None: ...
    def observe(self, name: str, value: float, tags: Mapping[str, str]) -> None: ...
