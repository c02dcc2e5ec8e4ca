"""The TUI's actions, sent through the CLI's command path.

Overrides go through ``actors.overrides.send`` exactly as ``raydesk accounts pause|resume|flatten``
and ``raydesk halt`` do: the running account actor applies them at once, else they are queued
in the Redis command inbox for the account's next cycle; either way the account (or the queuing)
records them in the ledger and the event log. Promotions use the registry like ``raydesk models
promote|rollback``, then swap the served model if a scoring app runs, and are recorded in the
event log here (the registry keeps its own history).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actors.overrides import Delivery, command, send
from configs import Settings
from core.clock import Clock
from core.errors import RaydeskError
from core.ports.cache import BROADCAST, EventLog
from training.registry import ModelRegistry, ModelVersion
from tui.client import ActionResult

ServedRefresh = Callable[[], Any]
"""Swaps newly promoted models into a running scoring app (``serving.deploy``)."""


def _refresh_served() -> Any:
    from serving.deploy import refresh_after_promotion

    return refresh_after_promotion()


class DeskActions:
    """Overrides and promotions on behalf of ``by`` (default: the OS user)."""

    def __init__(
        self,
        settings: Settings,
        registry_root: Path,
        events: EventLog,
        clock: Clock,
        *,
        attach_ray: bool = True,
        by: str | None = None,
        refresh_served: ServedRefresh | None = _refresh_served,
    ) -> None:
        self._settings = settings
        self._registry_root = Path(registry_root)
        self._events = events
        self._clock = clock
        self._attach = attach_ray
        self.by = by or getpass.getuser()
        self._refresh = refresh_served if attach_ray else None

    # -- overrides ---------------------------------------------------------------------------
    def override(self, name: str, account_ids: Sequence[str], reason: str = "") -> ActionResult:
        """Send override ``name`` to each account, in order, each delivery finished before the next."""
        lines: list[str] = []
        ok = True
        for account_id in account_ids:
            try:
                delivery = self._send(account_id, name, reason)
            except KeyError:
                ok = False
                lines.append(f"{account_id}: not in the settings ({self._settings.profile})")
                continue
            except RaydeskError as exc:
                ok = False
                lines.append(f"{account_id}: {exc}")
                continue
            lines.append(f"{delivery.account_id} {delivery.how}: {delivery.detail}")
        return ActionResult(name, ok, tuple(lines))

    def _send(self, account_id: str, name: str, reason: str) -> Delivery:
        return send(self._settings, account_id, command(name, self.by, reason), attach=self._attach)

    def kill_switch(self, account_ids: Sequence[str], flatten: bool, reason: str = "") -> ActionResult:
        """Halt every account first (no new entries, entry orders cancelled); then, only if asked,
        flatten them. A halt is delivered (applied or queued ahead) before any flatten is sent."""
        why = reason or "kill switch"
        halted = self.override("halt", account_ids, why)
        if not flatten:
            return ActionResult("kill switch", halted.ok, halted.lines)
        flattened = self.override("flatten", account_ids, why)
        return ActionResult(
            "kill switch + flatten", halted.ok and flattened.ok, halted.lines + flattened.lines
        )

    # -- models ------------------------------------------------------------------------------
    def promote(self, strategy: str, version: str) -> ActionResult:
        def run(registry: ModelRegistry) -> tuple[ModelVersion, str | None]:
            before = registry.promoted(strategy)
            return registry.promote(strategy, version), None if before is None else before.version

        return self._model_action("promote", strategy, run)

    def rollback(self, strategy: str) -> ActionResult:
        def run(registry: ModelRegistry) -> tuple[ModelVersion, str | None]:
            before = registry.promoted(strategy)
            return registry.rollback(strategy), None if before is None else before.version

        return self._model_action("rollback", strategy, run)

    def _model_action(
        self, action: str, strategy: str, run: Callable[[ModelRegistry], tuple[ModelVersion, str | None]]
    ) -> ActionResult:
        # Never create a registry as a side effect of a wrong path.
        if not self._registry_root.is_dir():
            return ActionResult(action, False, (f"no model registry at {self._registry_root}",))
        try:
            model, previous = run(ModelRegistry(self._registry_root, self._clock))
        except RaydeskError as exc:
            return ActionResult(action, False, (str(exc),))
        lines = [f"{strategy} {model.version} is live (was {previous or 'none'})"]
        payload = {"cmd": action, "by": self.by, "strategy": strategy, "version": model.version}
        try:
            self._events.publish(
                {
                    "kind": "override",
                    "account": BROADCAST,
                    "ts": self._clock.now(),
                    "payload": payload | {"previous": previous},
                }
            )
        except RaydeskError as exc:
            lines.append(f"not recorded in the event log: {exc}")
        lines.append(self._swap_served())
        return ActionResult(action, True, tuple(lines))

    def _swap_served(self) -> str:
        if self._refresh is None:
            return "serving picks the version up at its next start"
        try:
            versions = self._refresh()
        except Exception as exc:  # the registry switch stands; serving catches up on its next start
            return f"served models not updated: {exc}"
        return "no scoring app running" if versions is None else f"serving now: {versions}"
