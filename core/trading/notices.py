"""Which of an account's messages become which notification: a subscriber of the kernel's bus.

Fills, errors, a failed kernel step and the daily report (the kill switch, disconnects and
reconciliation problems are alerts: ``core.alerts``). Delivery is the ``NotifySink``'s
business (the account's channels, on a worker thread of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from core.messages import DailyFigures, KernelFailed, LedgerRecorded
from core.ports.notify import Notification
from core.trading.bus import MessageBus


class NotifySink(Protocol):
    """Sends notifications without holding up the caller."""

    def notify(self, notification: Notification) -> Any: ...
    def flush_digest(self, account_id: str) -> Any: ...


# The kill switch, disconnects, reconciliation failures and discrepancies are the desk's alerts
# (``core.alerts``, subscribed beside this): they are not repeated here.
_ERROR_KINDS: Final = frozenset({"execution.unconfirmed", "execution.unpriced", "trident.no_valid_pricing"})


def notice(event: LedgerRecorded) -> Notification | None:
    """The notification a ledger event calls for, if any."""
    p, ts, account_id = event.payload, event.ts, str(event.account_id)
    if event.kind == "fill":
        title = (
            f"{account_id}: {p.get('side')} {p.get('quantity')} {p.get('instrument_id')} @ {p.get('price')}"
        )
        fields = {k: str(p.get(k)) for k in ("fill_id", "client_order_id")}
        return Notification("fill", title, "", ts, account_id, "info", fields)
    if event.kind in _ERROR_KINDS:
        body = str(p.get("reason") or p.get("error") or p.get("detail") or "")
        return Notification("error", f"{account_id}: {event.kind}", body[:500], ts, account_id, "warning")
    return None


def error_notice(account_id: str, during: str, error: str, ts: datetime) -> Notification:
    return Notification("error", f"{account_id}: {during} failed", error[:500], ts, account_id, "critical")


def daily_report(account_id: str, ts: datetime, lines: Sequence[tuple[str, str]]) -> Notification:
    """The account's daily report: one field per figure."""
    body = "\n".join(f"{k}: {v}" for k, v in lines)
    return Notification(
        "daily_report", f"{account_id}: daily report", body, ts, account_id, "info", dict(lines)
    )


def subscribe_notifications(bus: MessageBus, sink: NotifySink) -> None:
    """Route the bus's ledger events, failures and daily reports to ``sink``."""

    def on_recorded(message: LedgerRecorded) -> None:
        note = notice(message)
        if note is not None:
            sink.notify(note)

    def on_failed(message: KernelFailed) -> None:
        sink.notify(error_notice(str(message.account_id), message.during, message.error, message.ts))

    def on_daily(message: DailyFigures) -> None:
        sink.notify(daily_report(str(message.account_id), message.ts, message.figures))
        sink.flush_digest(str(message.account_id))

    bus.subscribe(LedgerRecorded, on_recorded)
    bus.subscribe(KernelFailed, on_failed)
    bus.subscribe(DailyFigures, on_daily)
