"""``BarCycle``: the bar cycle's steps, one part of ``AccountService``.

The strategies' intents on the bars of one event (each strategy isolated: one that raises is
alerted and skipped), the gates an entry must pass (control state, discrepancies, the flatten
cut-off, freshness, one per symbol), the strategies' exits, the expiry of stale entry orders,
and the re-offer of the latest bar's entries to capital that exits freed (``recycle``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

import polars as pl

from core.calendar import MarketCalendar, to_new_york
from core.errors import InvalidValue
from core.execution import ExecutionOutcome, ExecutionResult
from core.features import warmup_rows
from core.model import AccountId, InstrumentId, Position
from core.ports.ledger import Ledger
from core.strategies import Intent, RuleStrategy, Strategy, row_intents
from core.trading.commands import ControlState
from core.trading.config import AccountRuntimeConfig, feature_set_of
from core.trading.entries import Book, Candidate, EntryPipeline
from core.trading.exits import MarketExits, is_exit_order
from core.trading.features import EventFeatures
from core.trading.freshness import flatten_window, signal_wait
from core.trading.link import BrokerLink
from core.trading.window import RollingBars


def by_symbol(book: Book) -> dict[str, Position]:
    return {str(iid): p for iid, p in book.positions.items()}


class BarCycle:
    """Intents, gates, strategy exits and recycling of one account's strategies."""

    def __init__(
        self,
        account_id: AccountId,
        strategies: Sequence[Strategy],
        config: AccountRuntimeConfig,
        ledger: Ledger,
        calendar: MarketCalendar,
        link: BrokerLink,
        exits: MarketExits,
        entries: EntryPipeline,
        control: Callable[[], ControlState],
    ) -> None:
        names = [s.name for s in strategies]
        if len(set(names)) != len(names):
            raise InvalidValue(f"strategy names must be unique, got {names}")
        self.account_id = account_id
        self.config = config
        self.strategies = tuple(strategies)
        self._ledger = ledger
        self._calendar = calendar
        self._link = link
        self._exits = exits
        self._entries = entries
        self._control = control
        self.windows: dict[str, RollingBars] = {}
        for tf in sorted({config.timeframe_of(s.name) for s in strategies}):
            warm = max(s.warmup for s in strategies if config.timeframe_of(s.name) == tf)
            self.windows[tf] = RollingBars(warm + warmup_rows(feature_set_of(tf)))

    def window(self, timeframe: str) -> RollingBars:
        window = self.windows.get(timeframe)
        if window is None:
            raise InvalidValue(f"no strategy of account {self.account_id} runs on {timeframe!r} bars")
        return window

    def intents(
        self, timeframe: str, bar_times: Mapping[str, datetime], features: EventFeatures
    ) -> list[tuple[str, Intent]]:
        """Intents of the strategies on ``timeframe`` for the bars of this event only."""
        found: list[tuple[str, Intent]] = []
        for strategy in self.strategies:
            if self.config.timeframe_of(strategy.name) != timeframe:
                continue
            try:
                intents = _suggest(strategy, timeframe, bar_times.keys(), features)
            except Exception as exc:  # one broken strategy must not stop the others
                self._link.alert(
                    "strategy_error", {"strategy": strategy.name, "error": f"{type(exc).__name__}: {exc}"}
                )
                continue
            found += [(strategy.name, i) for i in intents if bar_times.get(i.symbol) == i.ts]
        return found

    def gate_entries(
        self, entries: list[Candidate], book: Book, now: datetime, skipped: list[str]
    ) -> list[Candidate]:
        """Entries the account may take now: fresh (``signal_wait``), one per symbol, none where
        it holds or works one."""
        if not entries:
            return []
        control = self._control()
        reason = ""
        if not control.entries_allowed:
            reason = "halted" if control.halted else "paused"
        elif self._link.has_open_discrepancies():
            reason = "unreconciled discrepancy"
        elif self.after_cutoff(now):
            reason = "after the flatten cut-off"
        if reason:
            skipped += [f"{c.label}: {reason}" for c in entries]
            return []
        busy = {str(iid) for iid, p in book.positions.items() if not p.is_flat}
        busy |= {str(leg.instrument.id) for o in book.open_orders for leg in o.legs}
        kept: list[Candidate] = []
        for c in entries:
            wait = signal_wait(c.timeframe, c.intent.ts, now, self._calendar, self.config.max_signal_age)
            if wait is not None:
                skipped.append(f"{c.label}: {wait}")
            elif c.intent.symbol in busy:
                skipped.append(f"{c.label}: already positioned or working")
            else:
                busy.add(c.intent.symbol)
                kept.append(c)
        return kept

    def after_cutoff(self, now: datetime) -> bool:
        if not self.config.intraday:
            return False
        window = flatten_window(now, self._calendar, self.config.flatten_minutes_before_close)
        return window is not None and now >= window[0]

    def strategy_exits(
        self, exits: list[tuple[str, Intent]], book: Book, skipped: list[str]
    ) -> list[ExecutionResult]:
        results: list[ExecutionResult] = []
        for strategy, intent in exits:
            position = book.positions.get(InstrumentId(intent.symbol))
            if position is None or position.is_flat or (position.net > 0) != (intent.side == "long"):
                continue
            signal = f"{intent.symbol}:exit_{intent.side}:{intent.ts.isoformat()}"
            result = self._exits.close(
                position, book, strategy, signal, "strategy exit", to_new_york(intent.ts).date()
            )
            if result is not None:
                results.append(result)
            elif not self.config.automation_enabled:
                skipped.append(f"{strategy}:{intent.symbol}: exit suggested (automation off)")
        return results

    def expire_entries(self, now: datetime, book: Book) -> bool:
        """Cancel entry orders still working after ``entry_ttl``; True if any was cancelled."""
        ttl = self.config.entry_ttl
        if ttl is None:
            return False
        held = by_symbol(book)
        stale = [o for o in book.open_orders if not is_exit_order(o, held) and now - o.created_at >= ttl]
        if not stale:
            return False
        cancelled, _ = self._exits.cancel(stale)
        return bool(cancelled)

    def recycle(self, now: datetime) -> list[ExecutionResult]:
        """Re-offer the latest bar's entries (those refused for lack of capital get a new chance)."""
        book = self._link.book()
        results: list[ExecutionResult] = []
        control = self._control()
        for timeframe, window in sorted(self.windows.items()):
            last = window.last_ts
            if last is None:
                continue
            times = {s: last for s in window.symbols if (row := window.latest(s)) and row["ts"] == last}
            features = EventFeatures(self.windows)
            entries = [
                Candidate(s, i, timeframe)
                for s, i in self.intents(timeframe, times, features)
                if i.action == "entry"
            ]
            gated = self.gate_entries(entries, book, now, [])
            outcome = self._entries.run(
                gated, features, book, control.halted, self.config.automation_enabled, None, float
            )
            results += [r for r in outcome.results if r.outcome is not ExecutionOutcome.DUPLICATE]
            if outcome.results:
                book = self._link.book()
        return results


def _suggest(
    strategy: Strategy, timeframe: str, symbols: Collection[str], features: EventFeatures
) -> list[Intent]:
    # Rules on the latest feature rows equal the rules on the window's features (a test pins
    # it), at a fraction of the cost; other strategies get the window's tail.
    if isinstance(strategy, RuleStrategy):
        frame = features.frame(timeframe, strategy.feature_set, symbols)
        return row_intents(strategy.rules(frame)) if frame.height else []  # one row a symbol
    frame = features.window(timeframe).frame(symbols, last=strategy.warmup)
    return strategy.suggest(frame) if frame.height else []


def bar_times(bars: pl.DataFrame) -> dict[str, datetime]:
    """Each symbol's newest bar start (plain Python: a bar event has a row or so per symbol)."""
    last: dict[str, datetime] = {}
    for symbol, ts in zip(bars.get_column("symbol").to_list(), bars.get_column("ts").to_list(), strict=True):
        if ts is not None and (symbol not in last or ts > last[symbol]):
            last[symbol] = ts
    return last
