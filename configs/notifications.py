"""Where alerts go (webhooks, SMTP), which ones each channel takes, and the alert thresholds.

Secrets (a webhook URL carries its token, the SMTP password) are ``SecretStr``: they come from
the environment or secret files, never from a config file. ``SLACK_WEBHOOK_URL`` is read as
``notifications.slack_webhook_url``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from configs.accounts import Notify
from configs.components import Strict

__all__ = ["AlertThresholds", "ChannelFilter", "NotificationsConfig", "SmtpChannel", "WebhookChannel"]

Severity = Literal["info", "warning", "critical"]


class ChannelFilter(Strict):
    """Which notifications a channel takes: by kind or alert name, and by least severity."""

    kinds: list[str] = Field(
        default_factory=list,
        description="Notification kinds or alert names this channel takes (empty: every kind).",
    )
    min_severity: Severity = Field(
        default="info", description="Least severity sent: info, warning, critical."
    )


class WebhookChannel(ChannelFilter):
    """A Slack-compatible incoming webhook (JSON ``{"text": ..., "blocks": ...}``)."""

    url: SecretStr = Field(description="Webhook URL (secret: it holds the token).")


class SmtpChannel(ChannelFilter):
    """E-mail through an SMTP server."""

    host: str = Field(default="127.0.0.1", description="SMTP server host.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    sender: str = Field(min_length=3, description="From address.")
    recipients: list[str] = Field(min_length=1, description="To addresses.")
    username: SecretStr | None = Field(default=None, description="SMTP login (secret).")
    password: SecretStr | None = Field(default=None, description="SMTP password (secret).")
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")


class AlertThresholds(Strict):
    """When a desk figure becomes an alert (defaults: seed 002's alerting recommendations)."""

    sessions_without_trade: int = Field(
        default=5, ge=1, description="Alert after this many sessions without a fill."
    )
    negative_credits_per_day: int = Field(
        default=5, ge=0, description="Alert when more negative credits than this are priced in a day."
    )
    retry_rate: float = Field(
        default=0.30,
        ge=0,
        le=1,
        description="Alert when more than this share of pricing cycles needed retries.",
    )
    learning_coverage: float = Field(
        default=0.80, ge=0, le=1, description="Alert when learning-field coverage falls below this share."
    )


class NotificationsConfig(Strict):
    """Alert channels, delivery retries and thresholds. No channel: alerts are only logged."""

    webhooks: list[WebhookChannel] = Field(default_factory=list, description="Webhook channels.")
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="A Slack webhook taking every kind (also read from SLACK_WEBHOOK_URL)."
    )
    smtp: SmtpChannel | None = Field(default=None, description="E-mail channel.")
    default_preference: Notify = Field(
        default="immediate", description="Preference for desk-wide alerts: immediate, daily, weekly, never."
    )
    retries: int = Field(
        default=2, ge=0, description="Retries of a failed delivery before it is recorded undelivered."
    )
    backoff_seconds: float = Field(default=0.5, ge=0, description="First pause between retries (doubling).")
    budget_seconds: float = Field(default=10.0, gt=0, description="Most time one delivery may take.")
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds, description="Alert thresholds.")

    def all_webhooks(self) -> list[WebhookChannel]:
        """The configured webhooks plus the Slack one (when set)."""
        slack = [] if self.slack_webhook_url is None else [WebhookChannel(url=self.slack_webhook_url)]
        return [*self.webhooks, *slack]
