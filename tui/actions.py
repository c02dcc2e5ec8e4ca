"""The TUI's actions, sent through the CLI's command path.

Overrides go through ``actors.overrides.send`` exactly as ``raydesk accounts pause|resume|flatten``
and ``raydesk halt`` do: the running account actor applies them at once, else they are queued
in the Redis command inbox for the account's next cycle; either way the account (or the queuing)
records them in the ledger and the event log. Promotions go through ``cluster.promotion`` like ``raydesk
models promote|rollback`` (the registry switch, then the running scoring app, if any, swapped to
it) and are recorded in the event log here (the registry keeps its own history).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from actors.overrides import Delivery, command, send
from cluster import promotion
from configs import Settings
from core.clock import Clock
from core.errors import RaydeskError
from core.ports.cache import BROADCAST, EventLog
from training.registry import ModelRegistry, ModelVersion
from tui.client import ActionResult

NOT_REFRESHED = "not refreshed (no Ray with --via redis; a scoring app picks the version up when it starts)"


_SINK: list[TextIO] = []


@contextmanager
def ray_safe_stderr(active: bool = True) -> Iterator[None]:
    """A real file as ``sys.stderr`` while Ray may start in this process.

    ``ray.init`` enables ``faulthandler`` on ``sys.stderr``, which must have a file descriptor;
    while a Textual app runs, ``sys.stderr`` is its capture object, and the attach would fail
    (the command would silently take the inbox path). Ray's own messages go to ``os.devnull``
    instead of the screen; the file stays open for the loggers Ray keeps.
    """
    if not active:
        yield
        return
    if not _SINK:
        _SINK.append(Path(os.devnull).open("w"))  # noqa: SIM115  (kept open for Ray's loggers)
    saved, sys.stderr = sys.stderr, _SINK[0]
    try:
        yield
    finally:
        sys.stderr = saved


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
    ) -> None:
        self._settings = settings
        self._registry_root = Path(registry_root)
        self._events = events
        self._clock = clock
        self._attach = attach_ray
        self.by = by or getpass.getuser()

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
        with ray_safe_stderr(self._attach):
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
        def run(registry: ModelRegistry) -> tuple[ModelVersion, str]:
            if self._attach:
                with ray_safe_stderr():
                    model, served = promotion.promote(registry, strategy, version)
                return model, served.line()
            return registry.promote(strategy, version), NOT_REFRESHED

        return self._model_action("promote", strategy, run)

    def rollback(self, strategy: str) -> ActionResult:
        def run(registry: ModelRegistry) -> tuple[ModelVersion, str]:
            if self._attach:
                with ray_safe_stderr():
                    model, served = promotion.rollback(registry, strategy)
                return model, served.line()
            return registry.rollback(strategy), NOT_REFRESHED

        return self._model_action("rollback", strategy, run)

    def _model_action(
        self, action: str, strategy: str, run: Callable[[ModelRegistry], tuple[ModelVersion, str]]
    ) -> ActionResult:
        # Never create a registry as a side effect of a wrong path.
        if not self._registry_root.is_dir():
            return ActionResult(action, False, (f"no model registry at {self._registry_root}",))
        registry = ModelRegistry(self._registry_root, self._clock)
        try:
            before = registry.promoted(strategy)
            model, served = run(registry)
        except RaydeskError as exc:
            return ActionResult(action, False, (str(exc),))
        previous = None if before is None else before.version
        lines = [f"{strategy} {model.version} is live (was {previous or 'none'})", f"serving: {served}"]
        payload = {
            "cmd": action,
            "by": self.by,
            "strategy": strategy,
            "version": model.version,
            "previous": previous,
        }
        try:
            self._events.publish(
                {"kind": "override", "account": BROADCAST, "ts": self._clock.now(), "payload": payload}
            )
        except RaydeskError as exc:
            lines.append(f"not recorded in the event log: {exc}")
        return ActionResult(action, True, tuple(lines))
