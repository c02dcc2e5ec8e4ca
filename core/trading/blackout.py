"""Which underlyings take no new entry on a session: earnings blackouts and the day's universe.

``EntryBlackout`` answers, per New York session date, the ``RiskContext.blackout`` mapping
(underlying -> reason) the ``blackout`` risk rule denies entries with: a symbol within
``sessions`` of its earnings (``core.earnings``), and, once a universe refresh has run, every
traded symbol the refresh left out. Both sources are read through callables on the first
entry of each session (the pre-market refresh runs before the open), then kept for the day.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date

from core.calendar import MarketCalendar
from core.earnings import EarningsCalendar

__all__ = ["Blackout", "EntryBlackout"]

Blackout = Callable[[date], Mapping[str, str]]
"""The underlyings blacked out on a session, with the reason."""

Universe = Callable[[], "tuple[str | None, Collection[str]] | None"]
"""The last universe refresh: (the session it was built for, its symbols), or None if none ran."""


class EntryBlackout:
    """The blackout per session: any symbol within ``sessions`` of its earnings, and those of
    ``symbols`` (the account's bar-traded symbols) the last universe refresh left out."""

    def __init__(
        self,
        symbols: Sequence[str],
        earnings: Callable[[], EarningsCalendar],
        sessions: int,
        calendar: MarketCalendar,
        universe: Universe | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        self._earnings = earnings
        self._sessions = sessions
        self._calendar = calendar
        self._universe = universe
        self._day: date | None = None
        self._blocked: dict[str, str] = {}
        self._calendar_of_day = EarningsCalendar()

    def __call__(self, day: date) -> Mapping[str, str]:
        if day != self._day:
            self._load(day)
        return self._blocked

    def days_to_earnings(self, symbol: str, day: date) -> int | None:
        """Sessions from ``day`` to ``symbol``'s next earnings (None if unknown)."""
        if day != self._day:
            self._load(day)
        return self._calendar_of_day.days_to_earnings(symbol, day, self._calendar)

    def _load(self, day: date) -> None:
        earnings = self._earnings()
        blocked: dict[str, str] = {}
        for symbol in earnings.dates:
            reason = earnings.blackout(symbol, day, self._sessions, self._calendar)
            if reason is not None:
                blocked[symbol] = reason
        refreshed = self._universe() if self._universe is not None else None
        if refreshed is not None:
            built_for, kept = refreshed
            for symbol in self.symbols:
                if symbol not in kept and symbol not in blocked:
                    blocked[symbol] = f"not in the universe refresh for {built_for or 'the last session'}"
        self._day, self._blocked, self._calendar_of_day = day, blocked, earnings
