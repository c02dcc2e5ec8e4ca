"""``TtSession``: one ``tastytrade.Session`` on its own event loop thread, with token health.

Why a thread: the SDK is async (httpx2, anyio) while the ``Execution`` and ``MarketData`` ports
are synchronous and called from actors and tests that own no loop. Every SDK call runs on the
session's loop (``call``); adapter state is changed there under the adapters' locks.

Tokens: the SDK refreshes its 15-minute access token by its own clock only. ``request`` turns
a refused token into one forced refresh and one retry; a refresh the API refuses (revoked or
expired grant) marks the session ``token_valid = False``, raises ``TokenInvalid`` and alerts:
the seed's ``is_token_valid`` filter, which ``tastytrade.tokens.gate_cycle`` applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import httpx2
from tastytrade import Account, Session
from tastytrade.utils import TastytradeError

from adapters.brokers.tastytrade.config import TastytradeSettings
from core.clock import Clock, LiveClock
from core.errors import BrokerUnavailable, ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN_CODES = ("token_invalid", "invalid_grant", "unauthorized", "token_expired")


class TokenInvalid(ConfigError):
    """Tastytrade refused the OAuth grant: the account needs a new refresh token."""


def is_token_error(exc: BaseException) -> bool:
    return isinstance(exc, TastytradeError) and any(code in str(exc).lower() for code in TOKEN_CODES)


class TtSession:
    """A Tastytrade API session on its own loop (see the module docstring)."""

    def __init__(
        self,
        settings: TastytradeSettings,
        clock: Clock | None = None,
        alert: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or LiveClock()
        self.sdk: Session | None = None
        self.account: Account | None = None
        self.token_valid = True
        self.alerts: list[str] = []
        self._alert = alert
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="tt-session", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> TtSession:
        """Authenticate and find the account; ``TokenInvalid`` or ``BrokerUnavailable`` if not."""
        self._thread.start()
        try:
            self.call(self._open())
        except BaseException:
            self.close()
            raise
        return self

    async def _open(self) -> None:
        s = self.settings
        sdk = Session(
            s.provider_secret.get_secret_value(),
            s.refresh_token.get_secret_value(),
            is_test=not s.live,
            timeout=s.request_timeout,
        )
        if s.api_url:
            sdk._client.base_url = s.api_url  # the SDK takes no base_url; its client does
        self.sdk = sdk
        await self.request(lambda: sdk.refresh(force=True))
        accounts = await self.request(lambda: Account.get(sdk))
        chosen = [a for a in accounts if not s.account or a.account_number == s.account]
        if not chosen:
            raise ConfigError(f"credentials.tastytrade.account: no account {s.account!r} for this login")
        self.account = chosen[0]

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self._closing = True
        if self._thread.is_alive():
            with contextlib.suppress(BrokerUnavailable):
                self.call(self._shutdown(), 5.0)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.loop.close()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.sdk is not None:
            with contextlib.suppress(Exception):
                await self.sdk._client.aclose()

    @property
    def closing(self) -> bool:
        return self._closing

    # -- the bridge ---------------------------------------------------------------------------
    def call(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``work`` on the loop and wait; a timeout is ``BrokerUnavailable``."""
        if self.loop.is_closed():
            work.close()
            raise BrokerUnavailable("the Tastytrade session is closed")
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            return future.result(timeout or self.settings.request_timeout * 3)
        except FutureTimeout:
            future.cancel()
            raise BrokerUnavailable("Tastytrade did not answer in time") from None

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` in the background on the loop (call from the loop)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def require(self) -> tuple[Session, Account]:
        if self.sdk is None or self.account is None:
            raise BrokerUnavailable("the Tastytrade session is not open")
        if not self.token_valid:
            raise TokenInvalid("the Tastytrade token is invalid or expired: re-authorize the account")
        return self.sdk, self.account

    async def request(self, make: Callable[[], Awaitable[T]]) -> T:
        """``make()``; a refused token is refreshed once (forced) and the request retried; a
        transport failure is ``BrokerUnavailable`` (a retry may fix it)."""
        assert self.sdk is not None
        try:
            try:
                return await make()
            except TastytradeError as exc:
                if not is_token_error(exc):
                    raise
            try:
                await self.sdk.refresh(force=True)
            except TastytradeError as exc:
                if is_token_error(exc):
                    self.invalidate(str(exc).strip())
                    raise TokenInvalid(f"Tastytrade refused the token: {str(exc).strip()}") from None
                raise
            return await make()
        except httpx2.TransportError as exc:
            raise BrokerUnavailable(f"cannot reach Tastytrade: {exc!r}") from None

    def invalidate(self, why: str) -> None:
        if self.token_valid:
            self.token_valid = False
            self.raise_alert(f"Tastytrade token invalid ({why}): account skipped until re-authorized")

    def raise_alert(self, text: str) -> None:
        log.warning("%s", text)
        self.alerts.append(text)
        if self._alert is not None:
            self._alert(text)
