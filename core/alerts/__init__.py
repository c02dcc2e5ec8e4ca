"""Desk events to alerts: one event's alert (``event_alerts``) and the daily thresholds (``AlertRules``)."""

from core.alerts.events import ALERT_NAMES, DeskEvent, alert, event_alerts, task_run_alert
from core.alerts.rules import AlertRules, Thresholds
from core.alerts.subscriber import AlertSink, DeskAlerts

__all__ = [
    "ALERT_NAMES",
    "AlertRules",
    "AlertSink",
    "DeskAlerts",
    "DeskEvent",
    "Thresholds",
    "alert",
    "event_alerts",
    "task_run_alert",
]
