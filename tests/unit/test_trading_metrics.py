"""``TradingMetrics`` from typed kernel messages, and the Grafana dashboard over the same names."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from core.errors import InvalidValue
from core.messages import BarProcessed, DailyFigures, KernelFailed, LedgerRecorded
from core.metrics import TradingMetrics
from core.model import AccountId, Equity, Price, Quote
from core.ports.metrics import FORBIDDEN_TAGS, TRADING_METRICS, check_tags
from core.scheduling.runs import RunStatus, TaskRun
from core.trading.bus import MessageBus

T0 = dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)
A = AccountId("opts")
DASHBOARD = Path(__file__).parents[2] / "cluster" / "grafana" / "raydesk_trading.json"


class Recorded:
    """The port's calls, each checked against the declared tags (as ``RayMetrics`` does)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.observed: list[tuple[str, float]] = []

    def _key(self, name: str, tags: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        check_tags(TRADING_METRICS[name], tags)
        return name, tuple(sorted(tags.items()))

    def inc(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        key = self._key(name, tags)
        self.values[key] = self.values.get(key, 0.0) + value

    def set(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self.values[self._key(name, tags)] = value

    def observe(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self._key(name, tags)
        self.observed.append((name, value))


def rec(kind: str, **payload: object) -> LedgerRecorded:
    return LedgerRecorded(A, 1, T0, kind, payload)


def test_kernel_messages_become_metric_updates() -> None:
    backend = Recorded()
    metrics = TradingMetrics(backend)
    bus = MessageBus()
    metrics.subscribe(bus)
    for message in [
        rec("order.reserved", client_order_id="c1", status="pending"),
        rec("order.adopted", client_order_id="c2", status="accepted"),
        rec("order.rearmed", client_order_id="c1", status="pending"),  # not a new order
        rec("order.updated", client_order_id="c1", status="filled"),
        rec("fill", fill_id="f1", client_order_id="c1", side="buy", quantity="1"),
        rec("risk.denied", rule="max_open_positions", client_order_id="c3"),
        rec("trident.no_valid_pricing", strategy="trident", attempts=3),
        rec("trident.priced", strategy="trident", attempts=1),
        rec("trading.score_fallback", strategy="swing", count=1),
        rec("trading.recovered", ready=True, blocked=True),
        BarProcessed(A, 1, T0, "1m", "ok", 1, 0, (12.5,), 40.0),
        DailyFigures(
            A, T0, (("equity", "100250.00"), ("pnl", "+250.00"), ("realized", "+10.00"), ("fills", "1"))
        ),
        KernelFailed(A, "bar cycle", "boom", T0),
    ]:
        bus.publish(message)
    metrics.on_task_run(TaskRun("eod.flatten", T0, T0, T0, RunStatus.MISSED))
    metrics.on_quotes([Quote(Equity("SPY").id, Price("1"), Price("2"), T0)], T0 + dt.timedelta(seconds=7))
    v = backend.values
    acct = (("account", "opts"),)
    assert v[("raydesk_orders", acct)] == 2
    assert v[("raydesk_order_updates", (("account", "opts"), ("status", "filled")))] == 1
    assert v[("raydesk_fills", (("account", "opts"), ("side", "buy")))] == 1
    assert v[("raydesk_denials", (("account", "opts"), ("rule", "max_open_positions")))] == 1
    assert v[("raydesk_pricing_retries", (("account", "opts"), ("strategy", "trident")))] == 2
    assert v[("raydesk_scoring_fallbacks", (("account", "opts"), ("strategy", "swing")))] == 1
    assert v[("raydesk_reconciliation_blocked", acct)] == 1.0
    assert (v[("raydesk_equity", acct)], v[("raydesk_pnl", acct)]) == (100250.0, 250.0)
    assert v[("raydesk_task_runs", (("status", "missed"), ("task", "eod.flatten")))] == 1
    assert v[("raydesk_quote_age_seconds", (("symbol", "SPY"),))] == 7.0
    assert v[("raydesk_kernel_failures", (("account", "opts"), ("during", "bar cycle")))] == 1
    assert backend.observed == [("raydesk_bar_to_order_ms", 12.5), ("raydesk_cycle_ms", 40.0)]


def test_no_metric_takes_an_id_and_other_tags_are_refused() -> None:
    assert all(not set(s.tags) & FORBIDDEN_TAGS for s in TRADING_METRICS.values())
    with pytest.raises(InvalidValue):
        check_tags(TRADING_METRICS["raydesk_fills"], {"account": "a", "side": "buy", "client_order_id": "c1"})


def test_the_dashboard_charts_every_metric_and_nothing_else() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    charted = {m for e in exprs for m in re.findall(r"ray_(raydesk_[a-z_]+?)(?:_total|_bucket)?\b", e)}
    assert charted == set(TRADING_METRICS)
