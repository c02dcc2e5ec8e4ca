"""``SimVenueFeed``: the market a simulated exchange fills on (the ``VenueFeed`` port).

Each symbol's quote is given to the venue only if it has none at least as new: a re-sent bar
event (a retry after a restart) changes nothing. Bars of symbols without a quote go in as bars.
With a broker simulator serving the exchange, every touch of it runs through the simulator's
``run`` (on the thread where it serves the exchange), and ``settle`` runs after every feed, so
the events the venue produced have reached the broker's client before the account drains
them: results stay deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.brokers.sim.exchange import SimExchange
from core.messages import BarEvent
from core.model import Equity, Quote

Runner = Callable[[Callable[[], Any]], Any]
"""Runs a piece of work where the exchange lives (a broker simulator's ``run``)."""


def _here(work: Callable[[], Any]) -> Any:
    return work()


class SimVenueFeed:
    """Feeds ``exchange`` the bar events and quotes of one account."""

    def __init__(
        self, exchange: SimExchange, settle: Callable[[], None] | None = None, run: Runner = _here
    ) -> None:
        self.exchange = exchange
        self._settle = settle
        self._run = run

    def on_bars(self, event: BarEvent) -> None:
        self._run(lambda: self._feed(event))
        self.settle()

    def _feed(self, event: BarEvent) -> None:
        venue = self.exchange
        fresh = [
            q for q in event.quotes if (seen := venue.last_quote(q.instrument_id)) is None or seen.ts < q.ts
        ]
        venue.on_quotes(fresh)
        quoted = {str(q.instrument_id) for q in event.quotes}
        for row in event.bars.iter_rows(named=True):
            if row["symbol"] not in quoted:
                venue.on_bar(Equity(row["symbol"]), row)

    def on_quotes(self, quotes: Sequence[Quote]) -> None:
        self._run(lambda: self.exchange.on_quotes(quotes))
        self.settle()

    def settle(self) -> None:
        if self._settle is not None:
            self._settle()
