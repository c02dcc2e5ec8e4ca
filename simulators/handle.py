"""The market side every simulator handle shares: work on the server's loop, then publish.

A simulator owns its ``SimExchange`` on its server's event loop thread; the handle changes the
market only through ``run`` (on that loop, followed by a ``pump`` that sends what the change
caused: order updates, fills, quotes), so the exchange is never touched from two threads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from adapters.brokers.sim import SimExchange
from core.model import Quote

__all__ = ["ExchangeHandle", "LoopServer"]

T = TypeVar("T")


class LoopServer(Protocol):
    """A simulator server whose loop owns the exchange."""

    exchange: SimExchange

    def call(self, work: Callable[[], T], timeout: float = 10.0) -> T: ...

    def pump(self) -> Any: ...


class ExchangeHandle:
    """``run``, ``quote`` and ``end_session`` of a simulator handle over its ``LoopServer``."""

    def __init__(self, server: LoopServer) -> None:
        self._server = server

    def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the server's loop (where the exchange lives), then send what it caused."""

        def then_pump() -> T:
            result = work()
            self._server.pump()
            return result

        return self._server.call(then_pump)

    def quote(self, quote: Quote) -> None:
        """A quote at the exchange: working orders match against it, and clients hear of it."""
        self.run(lambda: self._server.exchange.on_quote(quote))

    def end_session(self, at: datetime) -> None:
        """Close the session at ``at``: DAY orders expire."""
        self.run(lambda: self._server.exchange.expire_day_orders(at))
