"""Notifications against real local servers: an HTTP webhook receiver and an SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from adapters.notify import (
    DeliveryPolicy,
    InMemoryDigestStore,
    NotificationDispatcher,
    SlackWebhookNotifier,
    SmtpNotifier,
    SqliteDigestStore,
)
from adapters.notify.webhook import slack_payload
from core.clock import SimClock
from core.errors import InvalidValue
from core.ports.notify import DeliveryResult, Notification, Notifier

T0 = dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC)
HOOK_PATH = "/services/T0000/B0000/hush-hush-webhook-token"
SMTP_USER = "desk-bot"
SMTP_PASSWORD = "sw0rdfish-smtp-password"
FAST = DeliveryPolicy(retries=2, backoff_seconds=0.01, budget_seconds=2.0)


def note(kind: Any = "fill", account: str | None = "acct-1", **kw: Any) -> Notification:
    defaults: dict[str, Any] = {
        "title": f"{kind} happened",
        "body": "Bought 10 SPY @ 512.34",
        "ts": T0,
        "fields": {"symbol": "SPY", "qty": "10"},
    }
    defaults.update(kw)
    return Notification(kind=kind, account_id=account, **defaults)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a local webhook receiver -------------------------------------------------------------------
class Hook:
    """Records POSTs; answers with scripted statuses, then 200 ``ok``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((self.path, dict(self.headers), json.loads(raw)))
                status = hook.statuses.pop(0) if hook.statuses else 200
                body = b"ok" if status == 200 else b"no_service" if status < 500 else b"boom"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = SecretStr(f"http://127.0.0.1:{self.server.server_address[1]}{HOOK_PATH}")
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    return free_port()


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts the TCP handshake (backlog) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


# -- a local SMTP server ------------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD), handled=False)


def start_smtp(inbox: Inbox, **kw: Any) -> Controller:
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=inbox.authenticate, **kw
    )
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    controller = start_smtp(box, auth_require_tls=False)
    yield box, controller.port
    controller.stop()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=36500))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def secret_free(caplog: pytest.LogCaptureFixture, *results: DeliveryResult) -> None:
    texts = [caplog.text, *(repr(r) for r in results)]
    for secret in (HOOK_PATH, "hush-hush-webhook-token", SMTP_PASSWORD, SMTP_USER):
        assert all(secret not in t for t in texts), secret


# -- the message ---------------------------------------------------------------------------------
def test_notification_is_frozen_utc_and_validated() -> None:
    fields = {"a": "1"}
    n = note(fields=fields, ts=T0.astimezone(dt.timezone(dt.timedelta(hours=-5))))
    fields["a"] = "changed"
    assert n.fields == {"a": "1"}
    assert n.ts.tzinfo == dt.UTC
    with pytest.raises(TypeError):
        n.fields["b"] = "2"  # type: ignore[index]
    with pytest.raises(InvalidValue):
        note(ts=dt.datetime(2024, 3, 1, 15, 30))
    with pytest.raises(InvalidValue):
        note(title="  ")
    assert note("kill_switch").urgent and note("alert", severity="critical").urgent
    assert not note("fill").urgent


def test_slack_payload_escapes_and_respects_block_limits() -> None:
    n = note(
        "alert",
        severity="warning",
        title="x" * 400,
        body="<b>&" + "y" * 7000,
        fields={f"k{i}": f"v{i}" for i in range(25)},
    )
    payload = slack_payload(n)
    assert payload["text"].startswith("[WARNING] acct-1: ")
    assert "&lt;b&gt;&amp;" in payload["text"] and "<b>" not in json.dumps(payload)
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    texts = [b for b in blocks if b["type"] == "section" and "text" in b]
    assert len(texts) == 3 and all(len(b["text"]["text"]) <= 3000 for b in texts)
    field_sections = [b["fields"] for b in blocks if "fields" in b]
    assert [len(f) for f in field_sections] == [10, 10, 5]
    assert blocks[-1]["type"] == "context" and "acct-1" in blocks[-1]["elements"][0]["text"]


# -- webhook ------------------------------------------------------------------------------------
def test_webhook_posts_slack_payload(hook: Hook) -> None:
    with SlackWebhookNotifier(hook.url, timeout=2, policy=FAST) as notifier:
        assert isinstance(notifier, Notifier)
        assert notifier.name.startswith("webhook(127.0.0.1")
        result = notifier.send(note("fill", title="Filled SPY"))
    assert result == DeliveryResult(ok=True, channel=notifier.name, status="sent", attempts=1)
    [(path, headers, body)] = hook.requests
    assert path == HOOK_PATH
    assert headers["Content-Type"] == "application/json"
    assert body["text"].startswith("acct-1: Filled SPY")
    assert body["blocks"][0]["text"]["text"] == "Filled SPY"
    assert {"type": "mrkdwn", "text": "*symbol*\nSPY"} in body["blocks"][2]["fields"]


def test_webhook_retries_a_500_then_delivers(hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook.statuses = [500]
    with SlackWebhookNotifier(hook.url, policy=FAST) as notifier:
        result = notifier.send(note())
    assert result.ok and result.attempts == 2 and len(hook.requests) == 2
    assert "HTTP 500" in caplog.text
    secret_free(caplog, result)


def test_webhook_does_not_retry_a_404(hook: Hook) -> None:
    hook.statuses = [404]
    with SlackWebhookNotifier(hook.url, policy=FAST) as notifier:
        result = notifier.send(note())
    assert not result.ok and result.attempts == 1 and len(hook.requests) == 1
    assert result.error is not None and "HTTP 404: no_service" in result.error


def test_webhook_gives_up_after_the_retries(hook: Hook) -> None:
    hook.statuses = [503, 502, 500, 200]
    with SlackWebhookNotifier(hook.url, policy=FAST) as notifier:
        result = notifier.send(note())
    assert not result.ok and result.attempts == 3 and len(hook.requests) == 3


def test_webhook_refuses_a_non_http_url() -> None:
    with pytest.raises(InvalidValue) as info:
        SlackWebhookNotifier(SecretStr("ftp://example.invalid/secret-path"))
    assert "secret-path" not in str(info.value)


# -- e-mail -------------------------------------------------------------------------------------
def test_smtp_delivers_text_and_html(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    notifier = SmtpNotifier(
        "127.0.0.1", port, "desk@raydesk.test", ["ops@raydesk.test", "me@raydesk.test"], starttls=False
    )
    assert isinstance(notifier, Notifier)
    result = notifier.send(note("kill_switch", severity="critical", title="Kill switch <engaged>"))
    assert result.ok and result.attempts == 1
    [(mail_from, rcpt, message)] = box.envelopes
    assert mail_from == "desk@raydesk.test" and rcpt == ["ops@raydesk.test", "me@raydesk.test"]
    assert message["From"] == "desk@raydesk.test"
    assert message["To"] == "ops@raydesk.test, me@raydesk.test"
    assert message["Subject"] == "[raydesk] [CRITICAL] acct-1: Kill switch <engaged>"
    assert message["Date"] == "Fri, 01 Mar 2024 15:30:00 +0000"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Bought 10 SPY @ 512.34" in text.get_content() and "symbol: SPY" in text.get_content()
    assert "<h2>Kill switch &lt;engaged&gt;</h2>" in html.get_content()
    assert box.logins == []


def test_smtp_starttls_with_login(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box = Inbox()
    controller = start_smtp(box, tls_context=server_tls, require_starttls=True)
    try:
        notifier = SmtpNotifier(
            "127.0.0.1",
            controller.port,
            "desk@raydesk.test",
            ["ops@raydesk.test"],
            username=SecretStr(SMTP_USER),
            password=SecretStr(SMTP_PASSWORD),
            ssl_context=ssl.create_default_context(cafile=str(cert)),
            policy=FAST,
        )
        result = notifier.send(note())
        wrong = SmtpNotifier(
            "127.0.0.1",
            controller.port,
            "desk@raydesk.test",
            ["ops@raydesk.test"],
            username=SecretStr(SMTP_USER),
            password=SecretStr("not-" + SMTP_PASSWORD),
            ssl_context=ssl.create_default_context(cafile=str(cert)),
            policy=FAST,
        ).send(note())
        untrusted = SmtpNotifier(
            "127.0.0.1", controller.port, "desk@raydesk.test", ["ops@raydesk.test"], policy=FAST
        ).send(note())
    finally:
        controller.stop()
    assert result.ok and len(box.envelopes) == 1
    assert box.logins[0] == (SMTP_USER, SMTP_PASSWORD)
    # Refused credentials (535) and an unverifiable certificate are permanent: no retry.
    assert not wrong.ok and wrong.attempts == 1 and "535" in (wrong.error or "")
    assert not untrusted.ok and untrusted.attempts == 1 and "TLS" in (untrusted.error or "")
    secret_free(caplog, result, wrong, untrusted)


# -- failures never reach the caller ------------------------------------------------------------
def test_everything_down_fails_quietly_and_quickly(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = SecretStr(f"http://127.0.0.1:{closed_port}{HOOK_PATH}")
    sleeps: list[float] = []
    with SlackWebhookNotifier(url, timeout=1, policy=FAST, sleep=sleeps.append) as webhook:
        smtp = SmtpNotifier(
            "127.0.0.1",
            closed_port,
            "desk@raydesk.test",
            ["ops@raydesk.test"],
            username=SecretStr(SMTP_USER),
            password=SecretStr(SMTP_PASSWORD),
            policy=FAST,
        )
        dispatcher = NotificationDispatcher([webhook, smtp], {"acct-1": "immediate"}, SimClock(T0))
        started = time.monotonic()
        result = dispatcher.notify(note("disconnect", title="Broker disconnected"))
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert not result.ok and result.status == "failed"
    assert [(d.channel, d.ok, d.attempts) for d in result.deliveries] == [
        (webhook.name, False, 3),
        (smtp.name, False, 3),
    ]
    assert sleeps == [0.01, 0.02]  # two retries, doubling back-off
    assert "Connection refused" in (result.error or "")
    failures = [r for r in caplog.records if r.name == "adapters.notify.dispatcher"]
    assert len(failures) == 2 and all(r.levelno == logging.ERROR for r in failures)
    secret_free(caplog, result)


def test_a_silent_server_is_cut_off_by_the_time_budget(black_hole: int) -> None:
    url = SecretStr(f"http://127.0.0.1:{black_hole}{HOOK_PATH}")
    policy = DeliveryPolicy(retries=2, backoff_seconds=0.05, budget_seconds=0.5)
    smtp = SmtpNotifier("127.0.0.1", black_hole, "desk@raydesk.test", ["ops@raydesk.test"], policy=policy)
    with SlackWebhookNotifier(url, timeout=5, policy=policy) as webhook:
        for notifier in (webhook, smtp):
            started = time.monotonic()
            result = notifier.send(note())
            elapsed = time.monotonic() - started
            assert not result.ok and 0.4 < elapsed < 1.5, (notifier.name, elapsed, result)
            assert result.error is not None and "timed out" in result.error.lower()


class Stuck:
    """A notifier that hangs until released: stands in for any channel gone silent."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()

    def send(self, notification: Notification) -> DeliveryResult:
        self.release.wait(10)
        return DeliveryResult(ok=True, channel=self.name, status="sent", attempts=1)


class Broken:
    name = "broken"

    def send(self, notification: Notification) -> DeliveryResult:
        raise RuntimeError(f"bug leaking {SMTP_PASSWORD}")


def test_the_dispatcher_never_waits_past_its_budget_nor_raises(hook: Hook) -> None:
    stuck = Stuck()
    with SlackWebhookNotifier(hook.url, policy=FAST) as webhook:
        dispatcher = NotificationDispatcher([stuck, Broken(), webhook], {}, SimClock(T0), budget_seconds=0.3)
        started = time.monotonic()
        result = dispatcher.notify(note())
        elapsed = time.monotonic() - started
        stuck.release.set()
    assert elapsed < 1.0
    assert [(d.channel, d.ok) for d in result.deliveries] == [
        ("stuck", False),
        ("broken", False),
        (webhook.name, True),
    ]
    assert result.deliveries[1].error == "RuntimeError"
    assert not result.ok and len(hook.requests) == 1


# -- preferences and the digest -----------------------------------------------------------------
def test_preferences_route_immediate_daily_and_never(hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="adapters.notify.dispatcher")
    store = InMemoryDigestStore()
    prefs: dict[str, Any] = {"now": "immediate", "day": "daily", "off": "never"}
    with SlackWebhookNotifier(hook.url, policy=FAST) as webhook:
        d = NotificationDispatcher([webhook], prefs, SimClock(T0), store)
        assert d.notify(note(account="now")).status == "sent"
        assert d.notify(note(account="day")).status == "queued"
        assert d.notify(note("order", account="day")).status == "queued"
        assert d.notify(note("kill_switch", account="day")).status == "sent"  # urgent skips the digest
        assert d.notify(note("alert", account="day", severity="critical")).status == "sent"
        assert d.notify(note("daily_report", account="day")).status == "sent"
        assert d.notify(note(account="off")).status == "dropped"
        assert d.notify(note("kill_switch", account="off")).status == "dropped"  # never means never
        assert d.notify(note(account="unknown")).status == "sent"  # default: immediate
        assert d.notify(note("disconnect", account=None)).status == "sent"  # desk-wide
    assert len(hook.requests) == 6
    assert [e.notification.kind for e in store.pending("day")] == ["fill", "order"]
    assert "dropped: preference is never" in caplog.text


def test_flush_digest_sends_one_message_and_clears_it(hook: Hook) -> None:
    clock = SimClock(T0)
    store = InMemoryDigestStore()
    prefs: dict[str, Any] = {"a": "daily", "b": "daily"}
    with SlackWebhookNotifier(hook.url, policy=FAST) as webhook:
        d = NotificationDispatcher([webhook], prefs, clock, store)
        d.notify(note(account="a", title="Filled SPY"))
        d.notify(note("order", account="a", title="Order QQQ", severity="warning"))
        d.notify(note(account="b", title="Filled IWM"))
        clock.advance(dt.timedelta(hours=5))
        assert hook.requests == []
        result = d.flush_digest("a")
        assert result.ok and result.status == "sent"
        [(_, _, body)] = hook.requests
        assert body["text"].startswith("[WARNING] a: Daily digest: 2 notifications")
        assert "Filled SPY" in body["text"] and "Order QQQ" in body["text"] and "IWM" not in body["text"]
        assert "20:30" in body["blocks"][-1]["elements"][0]["text"]  # stamped by the clock
        assert [e.notification.account_id for e in store.pending()] == ["b"]
        assert d.flush_digest(None).ok and "UTC b [fill] Filled IWM" in hook.requests[1][2]["text"]
        assert store.pending() == [] and d.flush_digest().status == "dropped"


def test_a_failed_flush_keeps_the_digest(closed_port: int) -> None:
    store = InMemoryDigestStore()
    url = SecretStr(f"http://127.0.0.1:{closed_port}{HOOK_PATH}")
    with SlackWebhookNotifier(url, policy=FAST) as webhook:
        d = NotificationDispatcher([webhook], {"a": "daily"}, SimClock(T0), store)
        d.notify(note(account="a"))
        result = d.flush_digest("a")
    assert not result.ok and len(store.pending("a")) == 1


def test_sqlite_digest_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "digest.sqlite"
    first = SqliteDigestStore(path)
    kept = note("order", account="a", severity="warning", fields={"id": "ord-1"})
    ids = [first.add(kept), first.add(note(account="b")), first.add(note(account="a", title="second"))]
    first.remove([ids[2]])
    again = SqliteDigestStore(path)
    assert [(e.id, e.notification) for e in again.pending("a")] == [(ids[0], kept)]
    assert [e.id for e in again.pending()] == ids[:2]
    again.remove(ids)
    assert SqliteDigestStore(path).pending() == []
