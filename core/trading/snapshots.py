"""Learning snapshots of an account's fills: a subscriber of the kernel's bus.

``RecordingExecution`` (an ``ExecutionService``) keeps each order's suggestion and the quotes
it was priced from in ``EntryContexts``; ``RecordingScorer`` keeps the strategy's last model
scores. ``FillSnapshots`` turns every ``FillsRecorded`` into ``SnapshotService.on_fill`` with
the instrument's position just before and after each fill (rebuilt from the ledger's fills in
order) and the ``EntryContext`` of its order when this process knows it (features, score,
model version; no version: rules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.execution import ExecutionResult, ExecutionService
from core.learning import EntryContext, Mark, SnapshotService
from core.messages import FillsRecorded
from core.model import AccountId, Fill, InstrumentId, Order, Position, Suggestion
from core.ports.ledger import Ledger
from core.ports.scorer import Scorer, Scores
from core.risk import RiskContext


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """The last scoring of a strategy: its rows and scores (``scores`` None: the model failed)."""

    rows: tuple[Mapping[str, float], ...]
    scores: Scores | None


class RecordingScorer:
    """A ``Scorer`` that remembers each strategy's last call."""

    def __init__(self, inner: Scorer) -> None:
        self.inner = inner
        self.last: dict[str, ScoreRecord] = {}

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        self.last[strategy] = ScoreRecord(tuple(rows), None)
        scores = self.inner.score(strategy, rows)
        self.last[strategy] = ScoreRecord(tuple(rows), scores)
        return scores


DaysToEarnings = Callable[[str, date], "int | None"]
"""Sessions from a session to a symbol's next earnings (None if unknown)."""

EntryContexts = dict[str, EntryContext]
"""The entry context of each order this process sent, by client order id."""


class RecordingExecution(ExecutionService):
    """``ExecutionService`` that keeps the entry context of every order it sends."""

    def __init__(
        self,
        *args: Any,
        scorer: RecordingScorer | None = None,
        days_to_earnings: DaysToEarnings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scorer = scorer
        self.days_to_earnings = days_to_earnings
        self.contexts: EntryContexts = {}

    def prepare(self, suggestion: Suggestion, ctx: RiskContext) -> Order | ExecutionResult:
        prepared = super().prepare(suggestion, ctx)
        order = prepared.order if isinstance(prepared, ExecutionResult) else prepared
        if order is not None:
            self.contexts.setdefault(str(order.client_order_id), self._context(suggestion, ctx.quotes))
        return prepared

    def remember(self, client_order_id: str, context: EntryContext) -> None:
        """Replace the context of an order (richer marks, e.g. option greeks)."""
        self.contexts[client_order_id] = context

    def _context(self, s: Suggestion, quotes: Mapping[InstrumentId, Mark]) -> EntryContext:
        record = self.scorer.last.get(str(s.strategy)) if self.scorer is not None else None
        model: dict[str, Any] = {}
        if record is not None and record.scores is not None:
            model["model_version"] = record.scores.model_version
            if len(record.rows) == 1:  # rows carry no symbol: only a lone row is unambiguous
                model["features"] = dict(record.rows[0])
                model["model_score"] = record.scores.scores[0]
        return EntryContext.from_suggestion(
            s, {str(k): v for k, v in quotes.items()}, days_to_earnings=self.earnings_in(s), **model
        )

    def earnings_in(self, s: Suggestion) -> int | None:
        """Sessions from the suggestion's session to its underlying's next earnings, if known."""
        if self.days_to_earnings is None or not s.legs:
            return None
        return self.days_to_earnings(s.legs[0].instrument.underlying, s.session)


class FillSnapshots:
    """Entry, daily and exit snapshots of one account's fills."""

    def __init__(
        self, account_id: AccountId, ledger: Ledger, service: SnapshotService, contexts: EntryContexts
    ) -> None:
        self.account_id = account_id
        self.service = service
        self._ledger = ledger
        self._contexts = contexts
        self.written = 0

    def __call__(self, message: FillsRecorded) -> None:
        self.on_fills(message.fill_ids)

    def on_fills(self, fill_ids: Sequence[str]) -> int:
        """Snapshot the fills ``fill_ids`` (ledger fill events); returns the snapshots written."""
        wanted = set(fill_ids)
        if not wanted:
            return 0
        nets: dict[InstrumentId, Decimal] = {}
        count = 0
        for fill in self._ledger.fills(self.account_id):
            iid = fill.instrument.id
            before = nets.get(iid, Decimal(0))
            after = before + fill.side.sign * fill.quantity.value
            nets[iid] = after
            if str(fill.fill_id) in wanted:
                count += len(self._one(fill, before, after))
        self.written += count
        return count

    def _one(self, fill: Fill, before: Decimal, after: Decimal) -> list[int]:
        acct, inst = fill.account_id, fill.instrument
        context = self._contexts.get(str(fill.client_order_id))
        return self.service.on_fill(fill, Position(acct, inst, before), Position(acct, inst, after), context)

    def daily(self, now: datetime, marks: Mapping[str, Mark]) -> int:
        """Today's snapshot of every open trade, marked with ``marks``; how many were written."""
        written = len(self.service.daily(self.account_id, now, marks))
        self.written += written
        return written

    def open_instruments(self) -> list[str]:
        """Instrument ids (and underlyings) of the open trades, for marking them."""
        ids: set[str] = set()
        for trade in self.service.open_trades(self.account_id):
            ids |= set(trade.instrument_ids)
            ids |= {str(leg.instrument.underlying) for leg in trade.legs}
        return sorted(ids)
