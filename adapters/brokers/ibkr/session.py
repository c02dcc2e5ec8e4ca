"""``IbSession``: one ib_async connection on its own event loop thread, kept alive.

Why a thread: ib_async is asyncio (its socket, its event dispatch, its request futures all live
on one loop), while the ``Execution`` and ``MarketData`` ports are synchronous and are called
from actors and tests that own no loop. So the session runs a private loop in a daemon thread;
every ib_async call is made on that loop (``call`` submits a coroutine and waits for its
result), and every ib_async event handler runs there too. Handlers only touch adapter state under
the adapter's lock, so port methods read consistent state from any thread.

Connection codes (ib_async delivers them through ``errorEvent`` with reqId -1):

* 1100 (connectivity lost): ``link_up`` goes False, an alert is raised; the execution adapter
  refuses new orders until the link is back.
* 1101 (restored, data lost): listeners resubscribe every market-data line and reconcile.
* 1102 (restored, data kept): listeners reconcile.
* farm codes 2103/2105/2157 add a health flag, 2104/2106/2158 clear it; they never reconnect
  (TWS flaps them through its nightly reset).
* a dropped socket starts the one reconnect loop (back-off with jitter); a second drop while it
  runs starts nothing. 326 (client id in use) makes the first connect fail with
  ``ClientIdInUse`` naming the setting to change; during reconnects it is retried (TWS may still
  hold the old session for a moment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any, TypeVar

from ib_async import IB, Contract

from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.parsing import (
    CLIENT_ID_IN_USE,
    FARM_BROKEN,
    FARM_OK,
    LINK_LOST,
    RESTORED_DATA_KEPT,
    RESTORED_DATA_LOST,
    cleared_flag,
    farm_flag,
)
from core.clock import Clock, LiveClock
from core.errors import BrokerUnavailable, ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")

ConnectListener = Callable[[IB], Coroutine[Any, Any, None]]
RestoreListener = Callable[[IB, bool], Coroutine[Any, Any, None]]
ErrorListener = Callable[[int, int, str], None]


class ClientIdInUse(ConfigError):
    """TWS refused the API client id (error 326): another connection holds it."""


class IbSession:
    """A kept-alive connection to TWS or IB Gateway (see the module docstring)."""

    def __init__(
        self, settings: IbkrSettings, clock: Clock | None = None, alert: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or LiveClock()
        self.ib: IB | None = None
        self.link_up = False
        self.flags: set[str] = set()
        self.reconnects = 0
        self.reconnect_loops = 0
        self.alerts: list[str] = []
        self.last_message_at: datetime | None = None
        self.on_connect: list[ConnectListener] = []
        self.on_restore: list[RestoreListener] = []
        self.on_error: list[ErrorListener] = []
        self._alert = alert
        self._rng = random.Random(settings.client_id)
        self._saw_326 = False
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.keyed = asyncio.Lock()
        """Held around ib_async requests it keys by name (current time, positions)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ib-session", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> IbSession:
        """Connect (listeners run: reconcile, subscriptions); ``ClientIdInUse``/``BrokerUnavailable``."""
        self._thread.start()
        try:
            self.call(self._connect(), self.settings.connect_timeout * 3 + self.settings.request_timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._closing = True
        if self._thread.is_alive():
            with contextlib.suppress(BrokerUnavailable):
                self.call(self._shutdown(), 5.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._reconnect is not None:
            self._reconnect.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.ib is not None:
            self.ib.disconnect()
            self.ib = None

    # -- the bridge ---------------------------------------------------------------------------
    def call(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``work`` on the session's loop and wait for it; a timeout is ``BrokerUnavailable``."""
        if self._loop.is_closed():
            work.close()
            raise BrokerUnavailable("the IBKR session is closed")
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            return future.result(timeout or self.settings.request_timeout)
        except FutureTimeout:
            future.cancel()
            raise BrokerUnavailable("TWS did not answer in time") from None

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the loop in the background (from the loop thread)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def settle_tasks(self) -> None:
        """Wait for background work (reconciles, resubscriptions) started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- state --------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.ib is not None and self.ib.isConnected()

    @property
    def ready(self) -> bool:
        """Connected with the link to IB up: new orders may be sent."""
        return self.connected and self.link_up

    def require(self) -> IB:
        """The connected client, or ``BrokerUnavailable`` saying why not."""
        if self.ib is None or not self.ib.isConnected():
            raise BrokerUnavailable(f"not connected to TWS at {self.settings.host}:{self.settings.port}")
        return self.ib

    async def round_trip(self, ib: IB) -> None:
        """Ask TWS the time and wait for it: everything TWS sent before has been handled then.

        Serialised: ib_async keys this request by name, so concurrent ones would collide."""
        async with self.keyed:
            await ib.reqCurrentTimeAsync()

    def touch(self) -> None:
        self.last_message_at = self.clock.now()

    # -- connecting ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        s = self.settings
        ib = IB()
        ib.client.MaxRequests = s.max_requests_per_second
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += lambda: self._on_disconnected(ib)
        self._saw_326 = False
        try:
            await ib.connectAsync(s.host, s.port, s.client_id, timeout=s.connect_timeout, account=s.account)
        except (TimeoutError, ConnectionError, OSError) as exc:
            ib.disconnect()
            if self._saw_326:
                raise ClientIdInUse(
                    f"TWS at {s.host}:{s.port} refused client id {s.client_id}: it is already in use "
                    f"(error 326). Give this account its own id (credentials.ibkr.client_id or "
                    f"IBKR_CLIENT_ID), or stop the other API session using it."
                ) from None
            raise BrokerUnavailable(f"cannot connect to TWS at {s.host}:{s.port}: {exc!r}") from None
        self.ib = ib
        self.link_up = True
        self.touch()
        for listener in self.on_connect:
            await listener(ib)

    def _on_disconnected(self, ib: IB) -> None:
        if ib is not self.ib or self._closing:
            return
        self.ib = None
        self.link_up = False
        self._raise_alert(
            f"TWS connection to {self.settings.host}:{self.settings.port} dropped; reconnecting"
        )
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.ensure_future(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        self.reconnect_loops += 1
        s = self.settings
        delay = s.backoff_initial
        while not self._closing:
            await asyncio.sleep(delay * (1 + self._rng.uniform(-s.jitter, s.jitter)))
            try:
                await self._connect()
            except ClientIdInUse as exc:
                self._raise_alert(str(exc))
            except BrokerUnavailable as exc:
                log.info("reconnect failed: %s", exc)
            else:
                self.reconnects += 1
                self._raise_alert("TWS connection restored")
                return
            delay = min(delay * 2, s.backoff_max)

    # -- codes --------------------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, contract: Contract | None) -> None:
        self.touch()
        if code == CLIENT_ID_IN_USE:
            self._saw_326 = True
        elif code == LINK_LOST:
            self._raise_alert(f"IB connectivity lost (1100): new entries paused. {message}")
            self.link_up = False
        elif code in (RESTORED_DATA_LOST, RESTORED_DATA_KEPT) and self.ib is not None:
            self.link_up = True
            lost = code == RESTORED_DATA_LOST
            self._raise_alert(f"IB connectivity restored ({code}{', market data lost' if lost else ''})")
            for listener in self.on_restore:
                self.spawn(listener(self.ib, lost))
        elif code in FARM_BROKEN:
            self.flags.add(farm_flag(code, message))
        elif code in FARM_OK:
            self.flags.discard(cleared_flag(code, message))
        for on_error in self.on_error:
            on_error(req_id, code, message)

    def _raise_alert(self, text: str) -> None:
        log.warning("%s", text)
        self.alerts.append(text)
        if self._alert is not None:
            self._alert(text)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("IBKR background task failed", exc_info=task.exception())
