"""alpaca-py's REST clients as the adapter uses them, and their errors in our exception tree.

The SDK sleeps 3 s inside the caller and resends on HTTP 429 and 504, POST included: that would
block an account's trading loop and can double an order without a client id. Here the SDK's own
retry is off (``_retry = 0``, the knob is not exposed on the constructors) and every request
has a time-out; a 429, a 5xx, a time-out or a refused connection raises ``BrokerUnavailable``
at once, and the caller's retry policy (``core.execution.service``) decides when to try again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.parsing import error_code
from core.errors import BrokerUnavailable, OrderRejected

T = TypeVar("T")
TEMPORARY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401})


class AlpacaRefused(OrderRejected):
    """Alpaca answered a request with a permanent HTTP error (``status``, Alpaca's ``code``)."""

    def __init__(self, what: str, status: int | None, code: int | None, message: str) -> None:
        super().__init__(f"{what}: {message} (HTTP {status}, code {code})")
        self.status = status
        self.code = code
        self.message = message


class _TimedSession(requests.Session):
    """A session whose every request has a time-out (the SDK passes none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def _tune(client: RESTClient, settings: AlpacaSettings) -> None:
    client._retry = 0
    client._session = _TimedSession(settings.request_timeout)


def trading_client(settings: AlpacaSettings) -> TradingClient:
    client = TradingClient(
        settings.api_key.get_secret_value(),
        settings.api_secret.get_secret_value(),
        paper=settings.paper,
        raw_data=True,
        url_override=settings.trading_url or None,
    )
    _tune(client, settings)
    return client


def data_client(settings: AlpacaSettings) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(
        settings.api_key.get_secret_value(),
        settings.api_secret.get_secret_value(),
        raw_data=True,
        url_override=settings.data_url or None,
    )
    _tune(client, settings)
    return client


def call(what: str, request: Callable[..., T], *args: Any) -> T:
    """Run one SDK request; ``BrokerUnavailable`` for what a retry may fix, ``AlpacaRefused``
    (an ``OrderRejected``) for the rest. Keys never appear in the messages."""
    try:
        return request(*args)
    except APIError as exc:
        status = exc.status_code
        code, message = error_code(str(exc))
        if status in TEMPORARY_STATUSES or status is None:
            raise BrokerUnavailable(f"{what}: Alpaca answered HTTP {status} ({message})") from None
        raise AlpacaRefused(what, status, code, message) from None
    except requests.RequestException as exc:
        raise BrokerUnavailable(f"{what}: {type(exc).__name__} reaching Alpaca") from None
