"""``StreamLoop``: one alpaca-py stream kept connected on its own thread and asyncio loop.

alpaca-py's streams reconnect by themselves but tell nobody, have no connect time-out and (the
trade stream) no staleness check. Here each connection is one fresh SDK stream object driven
through its own protocol steps (``_start_ws``: connect, authenticate, listen or subscribe;
``_consume``: receive and dispatch), so the loop knows when a connection is up (``on_up``, e.g.
reconcile through REST before reporting ready) and when it is gone, waits between attempts with
exponential back-off and equal jitter (seeded), never holds two connections at once, and
reconnects a socket that stays silent past ``watchdog`` seconds while ``watched()`` holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from adapters.brokers.alpaca.loop import LoopThread

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECK_SECONDS = 0.05
STABLE_SECONDS = 5.0
"""A connection that lasted this long resets the back-off."""


class SdkStream(Protocol):
    """What ``StreamLoop`` uses of an alpaca-py stream (``TradingStream``, ``StockDataStream``)."""

    @property
    def _ws(self) -> Any: ...

    async def _start_ws(self) -> None: ...
    async def _consume(self) -> Any: ...
    async def close(self) -> None: ...


class Silent(Exception):
    """The watchdog found the socket silent for too long."""


def backoff(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Seconds before reconnect ``attempt`` (1, 2, ...): doubling from ``initial`` up to
    ``maximum``, drawn uniformly in its upper half (equal jitter)."""
    capped: float = min(maximum, initial * 2 ** min(attempt - 1, 30))
    return capped / 2 + rng.uniform(0, capped / 2)


class StreamLoop:
    """Keeps one stream connected (see the module docstring)."""

    def __init__(
        self,
        name: str,
        make: Callable[[], SdkStream],
        *,
        connect_timeout: float,
        backoff_initial: float,
        backoff_max: float,
        watchdog: float | None = None,
        watched: Callable[[], bool] = lambda: True,
        on_up: Callable[[], Awaitable[None]] | None = None,
        on_down: Callable[[], None] | None = None,
        seed: int = 0,
    ) -> None:
        self.name = name
        self._make = make
        self._connect_timeout = connect_timeout
        self._initial = backoff_initial
        self._max = backoff_max
        self._watchdog = watchdog
        self._watched = watched
        self._on_up = on_up
        self._on_down = on_down
        self._rng = random.Random(seed)
        self.connected = False
        self.connects = 0
        self.silences = 0
        self.waits: deque[float] = deque(maxlen=100)
        """The latest back-offs waited, in seconds (for status and the connection scenarios)."""
        self.last_error = ""
        self._last_seen = time.monotonic()
        self._stream: SdkStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = LoopThread(f"alpaca-{name}")

    # -- any thread ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.submit(self._begin())

    def submit(self, work: Awaitable[T]) -> Future[T]:
        return self._thread.submit(work)

    def seen(self) -> None:
        """A message arrived (call from the stream's handlers): the watchdog starts over."""
        self._last_seen = time.monotonic()

    def sync(self, timeout: float = 5.0) -> None:
        """Return once every message already received by the socket has been dispatched."""
        if self._thread.running:
            self.submit(self._drained()).result(timeout)

    def close(self) -> None:
        self._thread.stop(self._end())

    # -- on the loop --------------------------------------------------------------------------
    async def _begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _end(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close_stream()

    async def _drained(self) -> None:
        for _ in range(10_000):
            ws = self._stream._ws if self._stream is not None else None
            if ws is None or not getattr(ws, "messages", None):
                break
            await asyncio.sleep(0)
        for _ in range(10):  # the consumer's wait_for and dispatch take a few loop turns
            await asyncio.sleep(0)

    async def _run(self) -> None:
        attempt = 0
        while True:
            began = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of one connection: back off, reconnect
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("alpaca %s stream: %s; reconnecting", self.name, self.last_error)
            finally:
                await self._close_stream()
                if self.connected:
                    self.connected = False
                    if self._on_down is not None:
                        self._on_down()
            attempt = 1 if time.monotonic() - began >= STABLE_SECONDS else attempt + 1
            wait = backoff(attempt, self._initial, self._max, self._rng)
            self.waits.append(wait)
            await asyncio.sleep(wait)

    async def _session(self) -> None:
        stream = self._make()
        self._stream = stream
        await asyncio.wait_for(stream._start_ws(), self._connect_timeout)
        self.connects += 1
        self.connected = True
        self.seen()
        consume = asyncio.ensure_future(stream._consume())
        try:
            if self._on_up is not None:
                await self._on_up()
            while True:
                done, _ = await asyncio.wait({consume}, timeout=CHECK_SECONDS)
                if done:
                    consume.result()
                    raise ConnectionError("the stream ended")
                if self._silent():
                    self.silences += 1
                    raise Silent(f"no message for {self._watchdog} s")
        finally:
            consume.cancel()

    def _silent(self) -> bool:
        if self._watchdog is None or not self._watched():
            self.seen()
            return False
        return time.monotonic() - self._last_seen > self._watchdog

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stream.close(), 5)
