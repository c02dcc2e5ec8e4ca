"""``TradingMetrics``: turns the account kernel's typed messages into metric updates.

Subscribe it to an account's bus (``subscribe``) or feed it ledger events, task runs and quotes.
Each ledger fact is counted once: ``order.reserved``/``order.adopted`` are the ledger's new
orders, ``fill`` its fills, so the counts equal the ledger's rows. A metrics back end that
fails never reaches trading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from core.messages import BarProcessed, DailyFigures, KernelFailed, LedgerRecorded
from core.model import Quote
from core.ports.metrics import Metrics
from core.scheduling.runs import TaskRun
from core.trading.bus import MessageBus

__all__ = ["TradingMetrics"]

log = logging.getLogger(__name__)

_NEW_ORDER = frozenset({"order.reserved", "order.adopted"})
_FIGURES = {"equity": "raydesk_equity", "pnl": "raydesk_pnl", "realized": "raydesk_realized_pnl"}


class TradingMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def subscribe(self, bus: MessageBus) -> None:
        bus.subscribe(LedgerRecorded, self.on_recorded)
        bus.subscribe(BarProcessed, self.on_bar)
        bus.subscribe(DailyFigures, self.on_daily)
        bus.subscribe(KernelFailed, self.on_failed)

    def on_recorded(self, m: LedgerRecorded) -> None:
        account, p = str(m.account_id), m.payload
        kind = m.kind
        if kind in _NEW_ORDER:
            self._inc("raydesk_orders", account=account)
        elif kind == "order.updated":
            self._inc("raydesk_order_updates", account=account, status=str(p.get("status")))
        elif kind == "fill":
            self._inc("raydesk_fills", account=account, side=str(p.get("side")))
        elif kind == "risk.denied":
            self._inc("raydesk_denials", account=account, rule=str(p.get("rule")))
        elif kind in ("trident.priced", "trident.no_valid_pricing"):
            strategy = str(p.get("strategy"))
            retries = max(int(p.get("attempts") or 1) - 1, 0)
            if retries:
                self._inc("raydesk_pricing_retries", retries, account=account, strategy=strategy)
            outcome = "priced" if kind == "trident.priced" else "no_valid_pricing"
            self._inc("raydesk_pricing_cycles", account=account, outcome=outcome)
        elif kind == "trading.score_fallback":
            self._inc("raydesk_scoring_fallbacks", account=account, strategy=str(p.get("strategy")))
        elif kind == "trading.recovered":
            self._emit(
                "set", "raydesk_reconciliation_blocked", 1.0 if p.get("blocked") else 0.0, account=account
            )
        elif kind == "reconcile.discrepancy":
            self._inc("raydesk_discrepancies", account=account)

    def on_bar(self, m: BarProcessed) -> None:
        account = str(m.account_id)
        for ms in m.latency_ms:
            self._emit("observe", "raydesk_bar_to_order_ms", ms, account=account)
        self._emit("observe", "raydesk_cycle_ms", m.cycle_ms, account=account)

    def on_daily(self, m: DailyFigures) -> None:
        for key, value in m.figures:
            name = _FIGURES.get(key)
            if name is None:
                continue
            try:
                self._emit("set", name, float(Decimal(value)), account=str(m.account_id))
            except InvalidOperation:
                continue

    def on_failed(self, m: KernelFailed) -> None:
        self._inc("raydesk_kernel_failures", account=str(m.account_id), during=m.during)

    def on_task_run(self, run: TaskRun) -> None:
        self._inc("raydesk_task_runs", task=run.task, status=run.status.value)

    def on_quotes(self, quotes: Iterable[Quote], now: datetime) -> None:
        for q in quotes:
            self._emit(
                "set", "raydesk_quote_age_seconds", (now - q.ts).total_seconds(), symbol=str(q.instrument_id)
            )

    def _inc(self, name: str, value: float = 1.0, **tags: str) -> None:
        self._emit("inc", name, value, **tags)

    def _emit(self, op: str, name: str, value: float, **tags: str) -> None:
        try:
            getattr(self.metrics, op)(name, value, tags)
        except Exception as exc:  # metrics never break trading
            log.warning("metric %s not updated: %s", name, type(exc).__name__)
