"""Keep secrets (webhook URLs, SMTP credentials) out of error strings and log records."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

__all__ = ["REDACTED", "protect_third_party_logs", "redact"]

REDACTED = "***"
# httpx logs every request URL at INFO; a Slack webhook URL *is* the credential.
_THIRD_PARTY_LOGGERS = ("httpx", "httpcore")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class _SecretFilter(logging.Filter):
    """Rewrites records that mention a registered secret; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = tuple(self._secrets)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return True
        if any(s in message for s in secrets):
            record.msg = redact(message, secrets)
            record.args = None
        return True


_FILTER = _SecretFilter()
for _name in _THIRD_PARTY_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def protect_third_party_logs(secrets: Iterable[str]) -> None:
    """Redact ``secrets`` from what httpx and httpcore log."""
    _FILTER.add(secrets)
