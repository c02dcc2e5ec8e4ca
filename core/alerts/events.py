"""Which desk event is an alert: broker disconnect and reconnect, kill switch, reconciliation
block, model check failure, scoring fall-back, a failed or missed task.

A ``DeskEvent`` is a ledger event (``LedgerRecorded`` on the kernel's bus) or an event of the
Redis event log (``{kind, account, ts, payload}``). Every alert is a ``Notification`` whose
``fields["alert"]`` names it, so channels can route on the name as well as the kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from core.clock import ensure_utc
from core.messages import LedgerRecorded
from core.ports.notify import Notification, NotificationKind, Severity
from core.scheduling.runs import RunStatus, TaskRun

__all__ = ["ALERT_NAMES", "DeskEvent", "alert", "event_alerts", "task_run_alert"]

ALERT_NAMES: Final = (
    "broker_disconnect",
    "broker_reconnect",
    "kill_switch",
    "reconciliation_block",
    "model_check_failed",
    "scoring_fallback",
    "task_failed",
    "task_missed",
    "learning_coverage_low",
    "no_trade",
    "negative_credits",
    "retry_rate_high",
)
"""Every alert this module and ``AlertRules`` raise (seed 002's list and the issue's)."""

_KIND_OF: Final[dict[str, NotificationKind]] = {
    "broker_disconnect": "disconnect",
    "broker_reconnect": "disconnect",
    "kill_switch": "kill_switch",
}


@dataclass(frozen=True, slots=True)
class DeskEvent:
    """One event of the desk: its ledger kind, account (None: desk-wide), time and payload."""

    kind: str
    account_id: str | None
    ts: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, message: LedgerRecorded) -> DeskEvent:
        return cls(message.kind, str(message.account_id), ensure_utc(message.ts), dict(message.payload))

    @classmethod
    def from_log(cls, event: Mapping[str, Any]) -> DeskEvent:
        """An event read back from the Redis event log (``kind``, ``account``, ``ts``, ``payload``)."""
        ts = event["ts"]
        when = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
        payload = event.get("payload") or {}
        # The log stores ledger kinds under coarse ones ("alert", "system"); the payload keeps the name.
        kind = str(payload.get("ledger_kind") or event["kind"])
        return cls(kind, event.get("account"), ensure_utc(when), dict(payload))


def alert(
    name: str,
    title: str,
    body: str,
    ts: datetime,
    account_id: str | None,
    severity: Severity,
    **fields: str,
) -> Notification:
    """The notification of alert ``name``."""
    kind = _KIND_OF.get(name, "alert")
    return Notification(kind, title, body[:1000], ts, account_id, severity, {"alert": name, **fields})


def event_alerts(event: DeskEvent) -> list[Notification]:
    """The alerts ``event`` raises by itself (thresholds are ``AlertRules``' business)."""
    p, ts, who = event.payload, event.ts, event.account_id
    out: list[Notification] = []
    if event.kind == "trading.alert" and p.get("alert") == "broker_unavailable":
        out.append(
            alert(
                "broker_disconnect",
                "broker disconnected",
                f"during {p.get('during')}",
                ts,
                who,
                "critical",
            )
        )
    elif event.kind == "trading.recovered":
        if p.get("error"):
            out.append(
                alert(
                    "broker_disconnect",
                    "reconnect failed",
                    "reconciliation failed",
                    ts,
                    who,
                    "critical",
                )
            )
        elif p.get("ready"):
            out.append(alert("broker_reconnect", "broker reconnected", "reconciled", ts, who, "info"))
        if p.get("blocked"):
            out.append(
                alert(
                    "reconciliation_block",
                    "trading blocked by reconciliation",
                    "the ledger and the broker disagree; new entries stop until acknowledged",
                    ts,
                    who,
                    "critical",
                )
            )
    elif event.kind == "reconcile.discrepancy":
        out.append(
            alert(
                "reconciliation_block",
                "reconciliation discrepancy",
                str(p.get("detail") or p.get("field") or "ledger and broker differ"),
                ts,
                who,
                "critical",
            )
        )
    elif event.kind == "override" and p.get("cmd") == "halt" and p.get("accepted"):
        by = str(p.get("by") or "someone")
        out.append(
            alert(
                "kill_switch",
                "kill switch (halted)",
                f"by {by}: {p.get('reason') or 'no reason'}",
                ts,
                who,
                "critical",
            )
        )
    elif event.kind == "trading.score_fallback":
        out.append(
            alert(
                "scoring_fallback",
                f"scoring fell back to rules ({p.get('strategy')})",
                f"{p.get('count', 1)} fall-back(s) so far",
                ts,
                who,
                "warning",
                strategy=str(p.get("strategy")),
            )
        )
    elif event.kind == "model.check" and p.get("problems"):
        problems: Mapping[str, Any] = p["problems"]
        body = "\n".join(f"{s}: {why}" for s, why in problems.items())
        out.append(
            alert(
                "model_check_failed",
                f"model check: {len(problems)} strategies need attention",
                body,
                ts,
                who,
                "warning",
            )
        )
    elif event.kind == "task_run" and p.get("status") in (RunStatus.FAILED.value, RunStatus.MISSED.value):
        out.append(_task_alert(str(p.get("task")), str(p["status"]), str(p.get("detail") or ""), ts))
    return out


def task_run_alert(run: TaskRun) -> Notification | None:
    """The alert of a failed or missed scheduled run, else None."""
    if run.status not in (RunStatus.FAILED, RunStatus.MISSED):
        return None
    return _task_alert(run.task, run.status.value, run.detail or "", run.finished)


def _task_alert(task: str, status: str, detail: str, ts: datetime) -> Notification:
    name = "task_failed" if status == RunStatus.FAILED.value else "task_missed"
    return alert(
        name,
        f"task {task} {status}",
        detail,
        ts,
        None,
        "critical" if name == "task_failed" else "warning",
        task=task,
    )
