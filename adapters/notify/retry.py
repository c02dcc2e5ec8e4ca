"""Bounded delivery: a few retries on temporary failures, all inside a time budget.

The budget is real elapsed time (``time.monotonic`` by default), not ``Clock`` time: it bounds
real network waits, which a simulated clock cannot shorten.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.notify.redact import redact
from core.errors import InvalidValue, TemporaryError
from core.ports.notify import DeliveryResult

__all__ = ["DeliveryPolicy", "deliver"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """``retries`` after the first attempt, ``backoff_seconds`` doubling, within ``budget_seconds``."""

    retries: int = 2
    backoff_seconds: float = 0.5
    budget_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise InvalidValue(f"DeliveryPolicy.retries must not be negative, got {self.retries}")
        if self.backoff_seconds < 0:
            raise InvalidValue(
                f"DeliveryPolicy.backoff_seconds must not be negative, got {self.backoff_seconds}"
            )
        if self.budget_seconds <= 0:
            raise InvalidValue(f"DeliveryPolicy.budget_seconds must be positive, got {self.budget_seconds}")


def deliver(
    channel: str,
    attempt: Callable[[float], None],
    policy: DeliveryPolicy,
    *,
    secrets: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """Run ``attempt(timeout_seconds)`` until it returns, retrying ``TemporaryError`` only.

    Each attempt's timeout is capped by what is left of the budget. Never raises: any other
    exception is a permanent failure. Error text is redacted of ``secrets``.
    """
    secrets = tuple(secrets)
    deadline = monotonic() + policy.budget_seconds
    attempts = 0
    while True:
        remaining = deadline - monotonic()
        if remaining <= 0:
            return _failed(channel, attempts, "time budget exhausted", secrets)
        attempts += 1
        try:
            attempt(remaining)
        except TemporaryError as exc:
            error = f"{exc} (temporary)"
        except Exception as exc:
            return _failed(channel, attempts, _describe(exc), secrets)
        else:
            return DeliveryResult(ok=True, channel=channel, status="sent", attempts=attempts)
        if attempts > policy.retries:
            return _failed(channel, attempts, error, secrets)
        wait = policy.backoff_seconds * 2 ** (attempts - 1)
        if monotonic() + wait >= deadline:
            return _failed(channel, attempts, f"{error}; no time left to retry", secrets)
        log.debug(
            "%s: attempt %d failed: %s; retrying in %.2f s", channel, attempts, redact(error, secrets), wait
        )
        sleep(wait)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _failed(channel: str, attempts: int, error: str, secrets: tuple[str, ...]) -> DeliveryResult:
    return DeliveryResult(
        ok=False, channel=channel, status="failed", attempts=attempts, error=redact(error, secrets)
    )
