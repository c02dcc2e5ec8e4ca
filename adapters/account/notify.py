"""How an account's notifications leave (``core.trading.notices`` says which messages go).

``NotifyTargets`` says where messages go (a Slack-compatible webhook, SMTP); none configured
gives a dispatcher with no notifier, which drops everything. ``BackgroundNotify`` hands them
to the ``NotificationDispatcher`` on a thread of its own, so a slow or dead channel never holds
up trading; the dispatcher honours the account's preference and logs every failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from adapters.notify import (
    DeliveryPolicy,
    NotificationDispatcher,
    SlackWebhookNotifier,
    SmtpNotifier,
    SqliteDigestStore,
)
from core.clock import Clock
from core.ports.notify import DeliveryResult, Notification, Notifier, NotifyPreference

log = logging.getLogger(__name__)

QUICK = DeliveryPolicy(retries=1, backoff_seconds=0.2, budget_seconds=3.0)
"""Account actors give a channel one retry within 3 s: a message is not worth more."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: SecretStr | None = None
    password: SecretStr | None = None
    starttls: bool = True


@dataclass(frozen=True, slots=True)
class NotifyTargets:
    """Where notifications go; picklable (sent to the actors with their spec)."""

    webhook_url: SecretStr | None = None
    smtp: SmtpTarget | None = None
    policy: DeliveryPolicy = field(default_factory=lambda: QUICK)

    @classmethod
    def from_settings(cls, settings: Any) -> NotifyTargets | None:
        """The settings' ``notify`` section when it has one (``webhook_url``, ``smtp``); else none."""
        section = getattr(settings, "notify", None)
        if section is None:
            return None
        url = getattr(section, "webhook_url", None)
        smtp = getattr(section, "smtp", None)
        if url is None and smtp is None:
            return None
        return cls(webhook_url=url, smtp=smtp if isinstance(smtp, SmtpTarget) else None)


def build_notifiers(targets: NotifyTargets | None) -> list[Notifier]:
    if targets is None:
        return []
    notifiers: list[Notifier] = []
    if targets.webhook_url is not None:
        notifiers.append(SlackWebhookNotifier(targets.webhook_url, policy=targets.policy))
    if targets.smtp is not None:
        s = targets.smtp
        notifiers.append(
            SmtpNotifier(
                s.host,
                s.port,
                s.sender,
                s.recipients,
                s.username,
                s.password,
                s.starttls,
                policy=targets.policy,
            )
        )
    return notifiers


def build_dispatcher(
    targets: NotifyTargets | None,
    preferences: Mapping[str, NotifyPreference],
    clock: Clock,
    digest_path: Path | None = None,
) -> NotificationDispatcher:
    """The desk's dispatcher: the configured channels (maybe none), the accounts' preferences."""
    store = SqliteDigestStore(digest_path) if digest_path is not None else None
    return NotificationDispatcher(build_notifiers(targets), preferences, clock, store, budget_seconds=5.0)


class BackgroundNotify:
    """Sends through ``dispatcher`` on one worker thread, in order; ``notify`` never waits."""

    def __init__(self, dispatcher: NotificationDispatcher) -> None:
        self.dispatcher = dispatcher
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")
        self.sent = 0

    def notify(self, notification: Notification) -> Future[DeliveryResult]:
        self.sent += 1
        return self._pool.submit(self.dispatcher.notify, notification)

    def flush_digest(self, account_id: str) -> Future[DeliveryResult]:
        return self._pool.submit(self.dispatcher.flush_digest, account_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
