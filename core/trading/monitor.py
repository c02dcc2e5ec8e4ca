"""``Monitor``: stops, targets and the flatten, one part of ``AccountService``.

``run`` exits positions whose stop or target was reached (marked at a fresh quote's exit side,
else the last close) and re-offers the latest bar's entries to the capital that freed;
``should_flatten`` and ``flatten`` close an intraday account from the cut-off to the close.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock
from core.errors import TemporaryError
from core.execution import ExecutionResult
from core.model import AccountId, InstrumentId
from core.ports.cache import QuoteCache
from core.ports.ledger import Ledger
from core.risk import RiskLimits
from core.trading.commands import ControlState
from core.trading.config import AccountRuntimeConfig
from core.trading.cycle import BarCycle, by_symbol
from core.trading.exits import MarketExits, is_exit_order
from core.trading.freshness import flatten_window
from core.trading.link import BrokerLink
from core.trading.protections import ProtectionBook


class Monitor:
    """Monitoring and the end-of-day flatten of one account."""

    def __init__(
        self,
        account_id: AccountId,
        config: AccountRuntimeConfig,
        limits: RiskLimits,
        ledger: Ledger,
        quotes: QuoteCache,
        clock: Clock,
        calendar: MarketCalendar,
        link: BrokerLink,
        exits: MarketExits,
        protections: ProtectionBook,
        cycle: BarCycle,
        control: Callable[[], ControlState],
        publish: Callable[[], None],
    ) -> None:
        self.account_id = account_id
        self.config = config
        self._limits = limits
        self._ledger = ledger
        self._quotes = quotes
        self._clock = clock
        self._calendar = calendar
        self._link = link
        self._exits = exits
        self._protections = protections
        self._cycle = cycle
        self._control = control
        self._publish = publish
        self.last_run: datetime | None = None
        self.flattened: date | None = None

    def due(self, now: datetime) -> bool:
        """True every ``monitor_interval`` of session time (the market must be open)."""
        if not self._calendar.is_open(now):
            return False
        return self.last_run is None or now - self.last_run >= self.config.monitor_interval

    def run(self, now: datetime | None = None) -> list[ExecutionResult]:
        """Exit positions whose stop or target was reached; then recycle the freed capital."""
        now = now or self._clock.now()
        self.last_run = now
        link = self._link
        if self._control().deleted or not link.ensure_ready(now):
            return []
        link.process_events()
        book = link.book()
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
            result = self._exits.close(
                position, book, protection.strategy, signal, f"{hit} at {price:g}", session
            )
            if result is not None:
                results.append(result)
        if self._control().entries_allowed and not link.blocked:
            results += self._cycle.recycle(now)
        link.refresh_balance()
        link.process_events()
        self._publish()
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
            for window in self._cycle.windows.values():
                row = window.latest(symbol)
                if row is not None:
                    marks[symbol] = float(row["close"])
                    break
        return marks

    def should_flatten(self, now: datetime) -> bool:
        """Intraday accounts: from the cut-off to the close (early closes included), while
        anything is open or working."""
        if not (self.config.intraday and self.config.automation_enabled) or self._control().deleted:
            return False
        window = flatten_window(now, self._calendar, self.config.flatten_minutes_before_close)
        if window is None or not window[0] <= now < window[1]:
            return False
        book = self._link.book()
        return bool(book.positions) or bool(book.open_orders)

    def flatten(self, reason: str = "eod") -> list[ExecutionResult]:
        """Cancel entry orders and close every position at market."""
        now = self._clock.now()
        link = self._link
        if not link.ensure_ready(now):
            link.alert("flatten_refused", {"reason": reason, "why": "not reconciled with the broker"})
            return []
        link.process_events()
        book = link.book()
        entries = [o for o in book.open_orders if not is_exit_order(o, by_symbol(book))]
        cancelled, errors = self._exits.cancel(entries)
        if cancelled:
            book = link.book()
        results: list[ExecutionResult] = []
        session = to_new_york(now).date()
        for iid, position in sorted(book.positions.items()):
            protection = self._protections.for_position(position)
            strategy = protection.strategy if protection is not None else "flatten"
            signal = f"{iid}:flatten:{now.isoformat()}"
            result = self._exits.close(position, book, strategy, signal, f"flatten ({reason})", session)
            if result is not None:
                results.append(result)
        self.flattened = session
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
        link.process_events()
        self._publish()
        return results
