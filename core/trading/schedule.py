"""The scheduled account work (monitoring, flattening, the Trident, snapshots, the report) as
handlers over a fan-out: the scheduler actor fans out over Ray, ``replay_kernel`` to one kernel.

``FanOut(method, args)`` calls ``method`` on every account actor and returns each result (or a
``StepFailure``); the scheduler actor supplies one over Ray, tests a plain one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.scheduling import Handler, Occurrence, SkipTask
from core.trading.outcomes import StepFailure

FanOut = Callable[[str, tuple[Any, ...]], Mapping[str, Any]]


def _detail(results: Mapping[str, Any]) -> str:
    failed = sorted(a for a, r in results.items() if isinstance(r, StepFailure))
    text = f"{len(results)} account(s)"
    if failed:
        text += f"; failed: {', '.join(failed)}"
        raise RuntimeError(text)  # recorded as a failed run, with the accounts that failed
    return text


def account_handlers(fan_out: FanOut) -> dict[str, Handler]:
    """Handlers by task kind: monitoring, flattening, the Trident cycle, snapshots, the report."""

    def monitor(occ: Occurrence) -> str:
        return _detail(fan_out("monitor", (occ.due,)))

    def flatten(occ: Occurrence) -> str:
        return _detail(fan_out("scheduled_flatten", (occ.task.name, occ.due)))

    def snapshot(occ: Occurrence) -> str:
        return _detail(fan_out("position_snapshot", (occ.due,)))

    def options(occ: Occurrence) -> str:
        return _detail(fan_out("options_cycle", (occ.due,)))

    def report(occ: Occurrence) -> str:
        return _detail(fan_out("daily_report", (occ.due,)))

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
