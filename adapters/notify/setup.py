"""The desk's alerting from ``Settings`` alone: channels, routing, preferences, digests, alerts.

``build_dispatcher_from_settings`` gives the ``NotificationDispatcher`` (webhooks incl.
``SLACK_WEBHOOK_URL``, SMTP, each behind its kind/severity filter; per-account preferences;
digests and undelivered alerts kept in ``state_dir``). ``build_desk_alerts`` adds the alert
rules with the configured thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from adapters.notify.digest import SqliteDigestStore
from adapters.notify.dispatcher import NotificationDispatcher
from adapters.notify.email import SmtpNotifier
from adapters.notify.retry import DeliveryPolicy
from adapters.notify.routing import RoutedNotifier
from adapters.notify.undelivered import SqliteUndeliveredLog
from adapters.notify.webhook import SlackWebhookNotifier
from configs import Settings
from configs.notifications import NotificationsConfig
from core.alerts import AlertRules, DeskAlerts, Thresholds
from core.clock import Clock
from core.ports.notify import Notifier, NotifyPreference

__all__ = [
    "DIGEST_FILE",
    "UNDELIVERED_FILE",
    "build_desk_alerts",
    "build_dispatcher_from_settings",
    "notifiers",
]

DIGEST_FILE = "notify_digest.sqlite3"
UNDELIVERED_FILE = "notify_undelivered.sqlite3"


def notifiers(config: NotificationsConfig) -> list[Notifier]:
    """One routed notifier per configured channel (none configured: an empty list)."""
    policy = DeliveryPolicy(config.retries, config.backoff_seconds, config.budget_seconds)
    out: list[Notifier] = [
        RoutedNotifier(SlackWebhookNotifier(w.url, policy=policy), w.kinds, w.min_severity)
        for w in config.all_webhooks()
    ]
    if config.smtp is not None:
        s = config.smtp
        smtp = SmtpNotifier(
            s.host, s.port, s.sender, s.recipients, s.username, s.password, s.starttls, policy=policy
        )
        out.append(RoutedNotifier(smtp, s.kinds, s.min_severity))
    return out


def build_notifications(
    config: NotificationsConfig, preferences: Mapping[str, NotifyPreference], clock: Clock, state_dir: Path
) -> NotificationDispatcher:
    """The dispatcher of ``config`` with the accounts' ``notify`` preferences (picklable inputs,
    so an account actor can build its own from its spec)."""
    return NotificationDispatcher(
        notifiers(config),
        preferences,
        clock,
        SqliteDigestStore(state_dir / DIGEST_FILE),
        default_preference=config.default_preference,
        # Every channel gets its own retries within its budget; the dispatcher waits a little more.
        budget_seconds=config.budget_seconds + 1.0,
        undelivered=SqliteUndeliveredLog(state_dir / UNDELIVERED_FILE),
    )


def alert_rules(config: NotificationsConfig) -> AlertRules:
    """Alert rules at the configured thresholds."""
    t = config.thresholds
    return AlertRules(
        Thresholds(t.sessions_without_trade, t.negative_credits_per_day, t.retry_rate, t.learning_coverage)
    )


def build_dispatcher_from_settings(
    settings: Settings, clock: Clock, state_dir: Path
) -> NotificationDispatcher:
    """The dispatcher of ``settings.notifications`` with each account's ``notify`` preference."""
    preferences = {a.id: a.notify for a in settings.accounts}
    return build_notifications(settings.notifications, preferences, clock, state_dir)


def build_desk_alerts(settings: Settings, clock: Clock, state_dir: Path) -> DeskAlerts:
    """Alert rules at the configured thresholds, delivering through the settings' dispatcher."""
    return DeskAlerts(
        alert_rules(settings.notifications), build_dispatcher_from_settings(settings, clock, state_dir)
    )
