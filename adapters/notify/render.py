"""Channel-neutral text for a notification: a one-line headline and a plain-text body."""

from __future__ import annotations

from core.ports.notify import Notification

__all__ = ["footer", "headline", "plain_text"]


def headline(n: Notification) -> str:
    """``[CRITICAL] acct-1: Kill switch engaged`` (the severity tag only above info)."""
    tag = f"[{n.severity.upper()}] " if n.severity != "info" else ""
    account = f"{n.account_id}: " if n.account_id else ""
    return _one_line(f"{tag}{account}{n.title}")


def footer(n: Notification) -> str:
    """Kind, account, severity and time, e.g. ``fill · acct-1 · info · 2024-03-01 15:30:00 UTC``."""
    parts = [n.kind, n.account_id or "desk", n.severity, n.ts.strftime("%Y-%m-%d %H:%M:%S UTC")]
    return " · ".join(parts)


def plain_text(n: Notification) -> str:
    lines = [n.title, "", n.body] if n.body else [n.title]
    if n.fields:
        lines += ["", *(f"{key}: {value}" for key, value in n.fields.items())]
    lines += ["", f"-- {footer(n)}"]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
