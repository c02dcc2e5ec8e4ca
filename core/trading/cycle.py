"""The bar cycle's steps, monitoring (stops, targets, recycling) and the flatten."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta

import polars as pl

from core.calendar import to_new_york
from core.errors import TemporaryError
from core.execution import ExecutionOutcome, ExecutionResult
from core.model import InstrumentId, Position, StrategyId
from core.strategies import Intent, RuleStrategy, Strategy, row_intents
from core.trading.base import AccountBase, by_symbol
from core.trading.config import DEFAULT_TIMEFRAME
from core.trading.entries import Book, Candidate
from core.trading.exits import closing_in_flight, is_exit_order
from core.trading.features import EventFeatures
from core.trading.freshness import signal_wait


class CycleMixin(AccountBase):
    """Intents, gates, exits, monitoring and the flatten of ``AccountService``."""

    def warm_up(self, bars: pl.DataFrame, timeframe: str = DEFAULT_TIMEFRAME) -> int:
        """Fill the window from history without trading; returns the rows kept."""
        return self._window(timeframe).append(bars)

    def _intents(
        self, timeframe: str, bar_times: Mapping[str, datetime], features: EventFeatures
    ) -> list[tuple[str, Intent]]:
        """Intents of the strategies on ``timeframe`` for the bars of this event only."""
        found: list[tuple[str, Intent]] = []
        for strategy in self._strategies:
            if self.config.timeframe_of(strategy.name) != timeframe:
                continue
            try:
                intents = self._suggest(strategy, timeframe, bar_times.keys(), features)
            except Exception as exc:  # one broken strategy must not stop the others
                self._alert(
                    "strategy_error", {"strategy": strategy.name, "error": f"{type(exc).__name__}: {exc}"}
                )
                continue
            found += [(strategy.name, i) for i in intents if bar_times.get(i.symbol) == i.ts]
        return found

    @staticmethod
    def _suggest(
        strategy: Strategy, timeframe: str, symbols: Collection[str], features: EventFeatures
    ) -> list[Intent]:
        # Rules on the latest feature rows equal the rules on the window's features (a test
        # pins it), at a fraction of the cost; other strategies get the window's tail.
        if isinstance(strategy, RuleStrategy):
            frame = features.frame(timeframe, strategy.feature_set, symbols)
            return row_intents(strategy.rules(frame)) if frame.height else []  # one row a symbol
        frame = features.window(timeframe).frame(symbols, last=strategy.warmup)
        return strategy.suggest(frame) if frame.height else []

    def _gate_entries(
        self, entries: list[Candidate], book: Book, now: datetime, skipped: list[str]
    ) -> list[Candidate]:
        """Entries the account may take now: fresh (``signal_wait``), one per symbol, none where
        it holds or works one."""
        if not entries:
            return []
        reason = ""
        if not self.control.entries_allowed:
            reason = "halted" if self.control.halted else "paused"
        elif self.blocked or self._ledger.has_open_discrepancies(self.account_id):
            self.blocked = True
            reason = "unreconciled discrepancy"
        elif self._after_cutoff(now):
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

    def _strategy_exits(
        self, exits: list[tuple[str, Intent]], book: Book, skipped: list[str]
    ) -> list[ExecutionResult]:
        results: list[ExecutionResult] = []
        for strategy, intent in exits:
            position = book.positions.get(InstrumentId(intent.symbol))
            if position is None or position.is_flat or (position.net > 0) != (intent.side == "long"):
                continue
            signal = f"{intent.symbol}:exit_{intent.side}:{intent.ts.isoformat()}"
            result = self._exit(
                position, book, strategy, signal, "strategy exit", to_new_york(intent.ts).date()
            )
            if result is not None:
                results.append(result)
            elif not self.config.automation_enabled:
                skipped.append(f"{strategy}:{intent.symbol}: exit suggested (automation off)")
        return results

    def _exit(
        self, position: Position, book: Book, strategy: str, signal: str, reason: str, session: date
    ) -> ExecutionResult | None:
        """A market exit of what is not already being closed; None when nothing is sent."""
        quantity = abs(position.net) - closing_in_flight(position, book.open_orders)
        if quantity <= 0:
            return None
        if not self.config.automation_enabled:
            self._alert(
                "exit_suggested",
                {"symbol": str(position.instrument.id), "reason": reason, "quantity": str(quantity)},
            )
            return None
        try:
            return self._exits.exit(position, quantity, StrategyId(strategy), session, signal, reason)
        except TemporaryError as exc:
            self._broker_down(exc, f"exit {position.instrument.id}")
            return None

    def _expire_entries(self, now: datetime, book: Book) -> bool:
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

    def monitor_due(self, now: datetime) -> bool:
        """True every ``monitor_interval`` of session time (the market must be open)."""
        if not self._calendar.is_open(now):
            return False
        return self._last_monitor is None or now - self._last_monitor >= self.config.monitor_interval

    def monitor(self, now: datetime | None = None) -> list[ExecutionResult]:
        """Exit positions whose stop or target was reached; then recycle the freed capital."""
        now = now or self._clock.now()
        self._last_monitor = now
        if self.control.deleted or not self._ensure_ready(now):
            return []
        self._process_events()
        book = self._book()
        marks = self._marks([str(iid) for iid in book.positions], now)
        results: list[ExecutionResult] = []
        session = to_new_york(now).date()
        for iid, position in sorted(book.positions.items()):
            protection = self._protections.for_position(position)
            price = marks.get(str(iid))
            if protection is None or price is None:
                continue
            hit = protection.hit(price)
            if hit is None:
                continue
            signal = f"{iid}:{hit}:{now.isoformat()}"
            result = self._exit(position, book, protection.strategy, signal, f"{hit} at {price:g}", session)
            if result is not None:
                results.append(result)
        if self.control.entries_allowed and not self.blocked:
            results += self._recycle(now)
        self._refresh_balance()
        self._process_events()
        self._publish()
        return results

    def _recycle(self, now: datetime) -> list[ExecutionResult]:
        """Re-offer the latest bar's entries (those refused for lack of capital get a new chance)."""
        book = self._book()
        results: list[ExecutionResult] = []
        for timeframe, window in sorted(self._windows.items()):
            last = window.last_ts
            if last is None:
                continue
            times = {s: last for s in window.symbols if (row := window.latest(s)) and row["ts"] == last}
            features = EventFeatures(self._windows)
            entries = [
                Candidate(s, i, timeframe)
                for s, i in self._intents(timeframe, times, features)
                if i.action == "entry"
            ]
            gated = self._gate_entries(entries, book, now, [])
            outcome = self._entries.run(
                gated, features, book, self.control.halted, self.config.automation_enabled, None, float
            )
            results += [r for r in outcome.results if r.outcome is not ExecutionOutcome.DUPLICATE]
            if outcome.results:
                book = self._book()
        return results

    def _marks(self, symbols: list[str], now: datetime) -> dict[str, float]:
        """Exit-side prices: a fresh quote's bid (long) or ask (short), else the last close."""
        marks: dict[str, float] = {}
        try:
            quotes = self._quotes.get_many(symbols) if symbols else {}
        except TemporaryError:
            quotes = {}
        positions = {str(p.instrument.id): p for p in self._ledger.positions(self.account_id)}
        for symbol in symbols:
            quote = quotes.get(InstrumentId(symbol))
            position = positions.get(symbol)
            if quote is not None and not quote.is_stale(now, self._limits.stale_quote_seconds):
                long = position is None or position.net > 0
                marks[symbol] = float((quote.bid if long else quote.ask).value)
                continue
            for window in self._windows.values():
                row = window.latest(symbol)
                if row is not None:
                    marks[symbol] = float(row["close"])
                    break
        return marks

    def _cutoff(self, now: datetime) -> tuple[datetime, datetime] | None:
        day = to_new_york(now).date()
        if not self._calendar.is_session(day):
            return None
        _, close = self._calendar.session_open_close(day)
        return close - timedelta(minutes=self.config.flatten_minutes_before_close), close

    def _after_cutoff(self, now: datetime) -> bool:
        if not self.config.intraday:
            return False
        window = self._cutoff(now)
        return window is not None and now >= window[0]

    def should_flatten(self, now: datetime) -> bool:
        """Intraday accounts: from the cut-off to the close (early closes included), while
        anything is open or working."""
        if not (self.config.intraday and self.config.automation_enabled) or self.control.deleted:
            return False
        window = self._cutoff(now)
        if window is None or not window[0] <= now < window[1]:
            return False
        book = self._book()
        return bool(book.positions) or bool(book.open_orders)

    def flatten(self, reason: str = "eod") -> list[ExecutionResult]:
        """Cancel entry orders and close every position at market."""
        now = self._clock.now()
        if not self._ensure_ready(now):
            self._alert("flatten_refused", {"reason": reason, "why": "not reconciled with the broker"})
            return []
        self._process_events()
        book = self._book()
        entries = [o for o in book.open_orders if not is_exit_order(o, by_symbol(book))]
        cancelled, errors = self._exits.cancel(entries)
        if cancelled:
            book = self._book()
        results: list[ExecutionResult] = []
        session = to_new_york(now).date()
        for iid, position in sorted(book.positions.items()):
            protection = self._protections.for_position(position)
            strategy = protection.strategy if protection is not None else "flatten"
            signal = f"{iid}:flatten:{now.isoformat()}"
            result = self._exit(position, book, strategy, signal, f"flatten ({reason})", session)
            if result is not None:
                results.append(result)
        self._flattened = session
        self._ledger.append_event(
            "trading.flatten",
            {
                "reason": reason,
                "cancelled": [str(o.client_order_id) for o in cancelled],
                "exits": [str(r.order.client_order_id) for r in results if r.order is not None],
                "errors": errors,
            },
            self.account_id,
        )
        self._process_events()
        self._publish()
        return results
