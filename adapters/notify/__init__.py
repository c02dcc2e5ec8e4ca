"""Notification adapters: a Slack-compatible webhook, SMTP e-mail, and the dispatcher."""

from adapters.notify.digest import DigestEntry, DigestStore, InMemoryDigestStore, SqliteDigestStore
from adapters.notify.dispatcher import NotificationDispatcher
from adapters.notify.email import SmtpNotifier
from adapters.notify.retry import DeliveryPolicy
from adapters.notify.webhook import SlackWebhookNotifier

__all__ = [
    "DeliveryPolicy",
    "DigestEntry",
    "DigestStore",
    "InMemoryDigestStore",
    "NotificationDispatcher",
    "SlackWebhookNotifier",
    "SmtpNotifier",
    "SqliteDigestStore",
]
