"""``AlertRules``: the desk's events and daily figures against seed 002's thresholds.

Besides what ``event_alerts`` raises for one event, it remembers per account: sessions since
the last fill (no trade in ``sessions_without_trade`` sessions), negative credits priced today
(more than ``negative_credits_per_day``), pricing cycles that needed a retry (a rate over
``retry_rate`` once ``min_cycles`` cycles ran), and whether the broker was down (so a
reconnect is news). Learning coverage comes from ``learning stats``. Each threshold alert is
raised once per account and day. Pure: the caller feeds events and closes sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.alerts.events import DeskEvent, alert, event_alerts
from core.calendar import to_new_york
from core.ports.notify import Notification

__all__ = ["AlertRules", "Thresholds"]

_PRICING_KINDS = frozenset({"trident.no_valid_pricing", "trident.priced"})
"""A failed pricing cycle, and a successful one (its ``attempts`` and ``diagnostics``)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Mirrors ``configs.notifications.AlertThresholds`` (``core`` cannot import ``configs``)."""

    sessions_without_trade: int = 5
    negative_credits_per_day: int = 5
    retry_rate: float = 0.30
    learning_coverage: float = 0.80
    min_cycles: int = 3


@dataclass
class _Account:
    idle_sessions: int = 0
    traded_today: bool = False
    day: date | None = None
    negative_credits: int = 0
    cycles: int = 0
    retried: int = 0
    raised: set[str] = field(default_factory=set)
    disconnected: bool = False


class AlertRules:
    """Feed it every desk event (``on_event``) and each closed session (``session_closed``)."""

    def __init__(self, thresholds: Thresholds = Thresholds()) -> None:
        self.thresholds = thresholds
        self._accounts: dict[str, _Account] = {}

    def on_event(self, event: DeskEvent) -> list[Notification]:
        """The alerts ``event`` raises, alone or by crossing a threshold."""
        state = self._state(event.account_id or "desk", to_new_york(event.ts).date())
        out = [n for n in event_alerts(event) if self._news(state, n)]
        p = event.payload
        if event.kind == "fill":
            state.traded_today = True
            state.idle_sessions = 0
        elif event.kind in _PRICING_KINDS:
            state.negative_credits += sum(_negative_credits(d) for d in _list(p.get("diagnostics")))
            out += self._pricing_cycle(event, state, int(p.get("attempts") or 1))
            out += self._negative(event, state)
        return out

    def session_closed(self, account_id: str, session: date, ts: datetime) -> list[Notification]:
        """End of ``session`` for an account: counts a session without a fill."""
        state = self._state(account_id, session)
        state.idle_sessions = 0 if state.traded_today else state.idle_sessions + 1
        state.traded_today = False
        limit = self.thresholds.sessions_without_trade
        if state.idle_sessions >= limit and "no_trade" not in state.raised:
            state.raised.add("no_trade")
            return [
                alert(
                    "no_trade",
                    f"no trade in {state.idle_sessions} sessions",
                    f"no fill since {state.idle_sessions} sessions (threshold {limit})",
                    ts,
                    account_id,
                    "critical",
                )
            ]
        return []

    def learning_coverage(
        self, coverage: Mapping[str, float], ts: datetime, account_id: str | None = None
    ) -> list[Notification]:
        """An alert naming each field (``snapshot.field``) whose coverage is under the threshold."""
        low = {k: v for k, v in coverage.items() if v < self.thresholds.learning_coverage}
        if not low:
            return []
        body = "\n".join(f"{k}: {v:.0%}" for k, v in sorted(low.items()))
        title = f"learning field coverage under {self.thresholds.learning_coverage:.0%} ({len(low)} fields)"
        return [alert("learning_coverage_low", title, body, ts, account_id, "warning")]

    # -- internals ------------------------------------------------------------------------
    def _state(self, account_id: str, day: date) -> _Account:
        state = self._accounts.setdefault(account_id, _Account())
        if state.day != day:
            state.day, state.negative_credits, state.cycles, state.retried = day, 0, 0, 0
            state.raised = {r for r in state.raised if r == "no_trade" and state.idle_sessions}
        return state

    def _news(self, state: _Account, n: Notification) -> bool:
        name = n.fields.get("alert")
        if name == "broker_disconnect":
            state.disconnected = True
        elif name == "broker_reconnect":
            # Every reconciliation reports ready; only one after an outage is news.
            was_down, state.disconnected = state.disconnected, False
            return was_down
        return True

    def _pricing_cycle(self, event: DeskEvent, state: _Account, attempts: int) -> list[Notification]:
        state.cycles += 1
        state.retried += attempts > 1
        rate = state.retried / state.cycles
        t = self.thresholds
        if state.cycles < t.min_cycles or rate <= t.retry_rate or "retry_rate_high" in state.raised:
            return []
        state.raised.add("retry_rate_high")
        body = f"{state.retried} of {state.cycles} pricing cycles needed a retry today (threshold {t.retry_rate:.0%})"
        return [
            alert(
                "retry_rate_high",
                f"retry rate {rate:.0%}",
                body,
                event.ts,
                event.account_id,
                "warning",
            )
        ]

    def _negative(self, event: DeskEvent, state: _Account) -> list[Notification]:
        limit = self.thresholds.negative_credits_per_day
        if state.negative_credits <= limit or "negative_credits" in state.raised:
            return []
        state.raised.add("negative_credits")
        body = (
            f"{state.negative_credits} negative credits priced today (threshold {limit}): bad bid/ask data?"
        )
        return [
            alert(
                "negative_credits",
                f"{state.negative_credits} negative credits today",
                body,
                event.ts,
                event.account_id,
                "critical",
            )
        ]


def _list(value: Any) -> Iterable[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _negative_credits(diagnostic: Mapping[str, Any]) -> int:
    """Spreads of one pricing attempt priced at a credit of zero or less."""
    count = 0
    for key in ("put_credit", "call_credit"):
        value = diagnostic.get(key)
        if value is None:
            continue
        try:
            count += Decimal(str(value)) <= 0
        except InvalidOperation:
            continue
    return count
