"""``SlackWebhookNotifier``: posts a Slack-compatible ``{"text", "blocks"}`` JSON payload.

Works with Slack incoming webhooks and anything that accepts their format (Mattermost,
Rocket.Chat, Discord's ``/slack`` endpoint). The URL is the credential: it is a ``SecretStr``,
never logged, and redacted from httpx's own request log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.notify.redact import protect_third_party_logs
from adapters.notify.render import footer, headline
from adapters.notify.retry import DeliveryPolicy, deliver
from core.errors import InvalidValue, PermanentError, TemporaryError
from core.ports.notify import DeliveryResult, Notification

__all__ = ["SlackWebhookNotifier", "slack_payload"]

# Slack's limits: 50 blocks, 3000 characters of section text, 10 fields of 2000, 150 header.
_MAX_BLOCKS = 50
_SECTION_CHARS = 3000
_FIELDS_PER_SECTION = 10
_FIELD_CHARS = 2000
_HEADER_CHARS = 150
_TEMPORARY_STATUS = frozenset({408, 425, 429})


class SlackWebhookNotifier:
    """Posts to one incoming-webhook URL; retries timeouts, connection errors, 429 and 5xx."""

    def __init__(
        self,
        url: SecretStr,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        *,
        policy: DeliveryPolicy = DeliveryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        parsed = httpx.URL(url.get_secret_value())
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InvalidValue("webhook url must be an absolute http(s) URL")
        if timeout <= 0:
            raise InvalidValue(f"webhook timeout must be positive, got {timeout}")
        self._url = url
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(follow_redirects=False)
        self._policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._name = f"webhook({parsed.host})"
        raw = url.get_secret_value()
        path = parsed.raw_path.decode("ascii")
        # The path alone identifies the hook too; short paths ("/") are not worth redacting.
        self._secrets = (raw, path) if len(path) >= 8 else (raw,)
        protect_third_party_logs(self._secrets)

    @property
    def name(self) -> str:
        return self._name

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            payload = slack_payload(notification)
        except Exception as exc:
            return DeliveryResult(ok=False, channel=self._name, status="failed", error=type(exc).__name__)
        return deliver(
            self._name,
            lambda budget: self._post(payload, budget),
            self._policy,
            secrets=self._secrets,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    def close(self) -> None:
        """Close the HTTP client if this notifier created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> SlackWebhookNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, payload: dict[str, Any], budget: float) -> None:
        timeout = httpx.Timeout(min(self._timeout, budget))
        try:
            response = self._client.post(self._url.get_secret_value(), json=payload, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            # httpx puts the URL in some messages; the class name says enough.
            raise TemporaryError(f"transport error ({type(exc).__name__}: {_os_reason(exc)})") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"HTTP {status}: {response.text[:200].strip()}"
        if status >= 500 or status in _TEMPORARY_STATUS:
            raise TemporaryError(detail)
        raise PermanentError(detail)


def _os_reason(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. ``Connection refused``), free of URLs."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return "no detail"


def slack_payload(n: Notification) -> dict[str, Any]:
    """The webhook body: ``text`` (the fallback for notifications) and Block Kit ``blocks``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(n.title, _HEADER_CHARS)}}
    ]
    for start in range(0, len(n.body), _SECTION_CHARS):
        chunk = _cut(_escape(n.body[start : start + _SECTION_CHARS]), _SECTION_CHARS)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    items = list(n.fields.items())
    for start in range(0, len(items), _FIELDS_PER_SECTION):
        fields = [
            {"type": "mrkdwn", "text": _cut(f"*{_escape(k)}*\n{_escape(v)}", _FIELD_CHARS)}
            for k, v in items[start : start + _FIELDS_PER_SECTION]
        ]
        blocks.append({"type": "section", "fields": fields})
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(footer(n))}]}
    blocks = [*blocks[: _MAX_BLOCKS - 1], context]
    text = headline(n) + (f"\n{n.body}" if n.body else "")
    return {"text": _cut(_escape(text), _SECTION_CHARS), "blocks": blocks}


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
