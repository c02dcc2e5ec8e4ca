"""``LoopThread``: an asyncio loop on its own daemon thread, driven from any other thread.

The Alpaca streams run on one (the SDK's websockets are asyncio) and so does the Alpaca
simulator's server; callers elsewhere hand it work with ``submit`` or ``call``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running on a daemon thread named ``name`` once ``start`` was called."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def submit(self, work: Awaitable[T]) -> Future[T]:
        """Schedule ``work`` on the loop; its future."""

        async def run() -> T:
            return await work

        return asyncio.run_coroutine_threadsafe(run(), self.loop)

    def call(self, work: Coroutine[Any, Any, T] | Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``work`` (a coroutine or a plain function) on the loop; its result."""

        async def run() -> T:
            if asyncio.iscoroutine(work):
                return await work
            assert callable(work)
            return work()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self, last: Coroutine[Any, Any, Any] | None = None) -> None:
        """Run ``last`` on the loop (errors ignored), then stop the loop and the thread."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            if last is not None:
                with contextlib.suppress(Exception):
                    self.call(last)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        elif last is not None:
            last.close()
        self.loop.close()
