"""``SmtpNotifier``: one plain-text + minimal HTML e-mail per notification, over SMTP.

STARTTLS is on by default; credentials are ``SecretStr`` and are redacted from every error.
Temporary failures (connection refused, time-outs, disconnects, 4xx replies) are retried;
5xx replies, refused credentials and TLS verification failures are not.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import NoReturn

from pydantic import SecretStr

from adapters.notify.render import footer, headline, plain_text
from adapters.notify.retry import DeliveryPolicy, deliver
from core.errors import InvalidValue, PermanentError, TemporaryError
from core.ports.notify import DeliveryResult, Notification

__all__ = ["SmtpNotifier", "build_message"]

log = logging.getLogger(__name__)


class SmtpNotifier:
    """Sends each notification to ``recipients`` through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: SecretStr | None = None,
        password: SecretStr | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        policy: DeliveryPolicy = DeliveryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not recipients:
            raise InvalidValue("SmtpNotifier needs at least one recipient")
        if (username is None) != (password is None):
            raise InvalidValue("SMTP username and password go together")
        if "@" not in sender:
            raise InvalidValue("SMTP sender must be an e-mail address")
        if timeout <= 0:
            raise InvalidValue(f"SMTP timeout must be positive, got {timeout}")
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = tuple(recipients)
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._secrets = tuple(s.get_secret_value() for s in (username, password) if s is not None)

    @property
    def name(self) -> str:
        return f"smtp({self._host}:{self._port})"

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            message = build_message(notification, self._sender, self._recipients)
        except Exception as exc:
            return DeliveryResult(ok=False, channel=self.name, status="failed", error=type(exc).__name__)
        return deliver(
            self.name,
            lambda budget: self._deliver(message, budget),
            self._policy,
            secrets=self._secrets,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    def _deliver(self, message: EmailMessage, budget: float) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=min(self._timeout, budget)) as smtp:
                if self._starttls:
                    smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username.get_secret_value(), self._password.get_secret_value())
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            _raise(f"all recipients refused ({', '.join(map(str, codes))})", all(_is_4xx(c) for c in codes))
        except smtplib.SMTPResponseException as exc:
            # Includes SMTPAuthenticationError, SMTPSenderRefused, SMTPDataError, SMTPConnectError.
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
            _raise(f"{type(exc).__name__} {exc.smtp_code}: {reply[:200]}", not 500 <= exc.smtp_code < 600)
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"server does not support it: {exc}") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TemporaryError(f"server disconnected: {exc}") from None
        except smtplib.SMTPException as exc:  # e.g. no usable AUTH mechanism
            raise PermanentError(f"{type(exc).__name__}: {exc}") from None
        except ssl.SSLError as exc:
            raise PermanentError(f"TLS failure: {exc.reason or type(exc).__name__}") from None
        except OSError as exc:  # refused, reset, timed out, unresolvable host
            raise TemporaryError(f"{type(exc).__name__}: {exc.strerror or exc}") from None
        if refused:
            log.warning("%s: some recipients refused: %s", self.name, sorted(refused))


def _is_4xx(code: int) -> bool:
    return 400 <= code < 500


def _raise(detail: str, temporary: bool) -> NoReturn:
    raise (TemporaryError if temporary else PermanentError)(detail) from None


def build_message(n: Notification, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The MIME message: ``multipart/alternative`` with a text and an HTML part."""
    message = EmailMessage()
    message["Subject"] = f"[raydesk] {headline(n)}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(n.ts)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    if n.severity == "critical":
        message["X-Priority"] = "1"
    message.set_content(plain_text(n))
    message.add_alternative(_html(n), subtype="html")
    return message


def _html(n: Notification) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in n.fields.items())
    table = f"<table cellpadding='4'>{rows}</table>" if rows else ""
    body = f"<pre style='font-family:inherit;white-space:pre-wrap'>{e(n.body)}</pre>" if n.body else ""
    return (
        "<!doctype html><html><body>"
        f"<h2>{e(n.title)}</h2>{body}{table}"
        f"<p style='color:#666;font-size:small'>{e(footer(n))}</p>"
        "</body></html>"
    )
