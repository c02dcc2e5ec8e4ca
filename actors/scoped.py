"""``AccountScopedFills``: fill ids unique across accounts that share one ledger.

Each simulated account has its own venue, and every venue numbers its fills from 1
(``SIM-F00000001``), while the shared ledger keeps one fill per id: two accounts' first fills
would collide and the second would be taken for a repeat. The wrapper prefixes every fill id
the venue reports with the account id, consistently in events, fill lists and reports, so
deduplication and reconciliation keep working per account.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from core.messages import ExecutionEvent, OrderFilled, ReconciliationReport
from core.model import Fill, FillId
from core.ports.execution import Execution


class AccountScopedFills:
    """An ``Execution`` whose fill ids read ``<account>:<venue fill id>``."""

    def __init__(self, inner: Execution, account_id: str) -> None:
        self.inner = inner
        self._prefix = f"{account_id}:"

    def _fill(self, fill: Fill) -> Fill:
        if str(fill.fill_id).startswith(self._prefix):
            return fill
        return replace(fill, fill_id=FillId(f"{self._prefix}{fill.fill_id}"))

    def poll_events(self) -> list[ExecutionEvent]:
        return [
            OrderFilled(self._fill(e.fill)) if isinstance(e, OrderFilled) else e
            for e in self.inner.poll_events()
        ]

    def fills_since(self, since: datetime) -> list[Fill]:
        return [self._fill(f) for f in self.inner.fills_since(since)]

    def report(self, since: datetime) -> ReconciliationReport:
        report = self.inner.report(since)
        return replace(report, fills=tuple(self._fill(f) for f in report.fills))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
