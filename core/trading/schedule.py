"""The scheduler's handlers for account work, as plain functions of a fan-out (no Ray here).

``FanOut(method, args)`` calls ``method`` on every account actor and returns each result (or an
``{"error": ...}``); the scheduler actor supplies one over Ray, tests a plain one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.scheduling import Handler, Occurrence, SkipTask

FanOut = Callable[[str, tuple[Any, ...]], Mapping[str, Any]]


def _detail(results: Mapping[str, Any]) -> str:
    failed = sorted(a for a, r in results.items() if isinstance(r, dict) and "error" in r)
    text = f"{len(results)} account(s)"
    if failed:
        text += f"; failed: {', '.join(failed)}"
        raise RuntimeError(text)  # recorded as a failed run, with the accounts that failed
    return text


def account_handlers(fan_out: FanOut) -> dict[str, Handler]:
    """Handlers by task kind: monitoring, flattening, the Trident cycle, snapshots, the report."""

    def monitor(occ: Occurrence) -> str:
        return _detail(fan_out("monitor", (occ.due.isoformat(),)))

    def flatten(occ: Occurrence) -> str:
        return _detail(fan_out("scheduled_flatten", (occ.task.name, occ.due.isoformat())))

    def snapshot(occ: Occurrence) -> str:
        return _detail(fan_out("position_snapshot", (occ.due.isoformat(),)))

    def options(occ: Occurrence) -> str:
        return _detail(fan_out("options_cycle", (occ.due.isoformat(),)))

    def report(occ: Occurrence) -> str:
        return _detail(fan_out("daily_report", (occ.due.isoformat(),)))

    def on_bars(occ: Occurrence) -> str:
        raise SkipTask("accounts trade on bar events; nothing to do at a fixed time")

    return {
        "monitor": monitor,
        "flatten": flatten,
        "position_snapshot": snapshot,
        "trading_cycle": on_bars,
        "options_cycle": options,
        "daily_report": report,
    }
