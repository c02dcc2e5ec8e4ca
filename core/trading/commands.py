"""Overrides: the commands a human sends an account (TUI, CLI) and the control state they set.

A command is a mapping ``{"cmd": NAME, "by": WHO, "reason": WHY, ...}``. Names (aliases in
brackets): ``pause``, ``resume``, ``flatten`` (``flatten_now``), ``halt`` (``kill``,
``kill_switch``), ``resume_all`` (``resume-all``), ``delete`` (needs ``"confirm"`` equal to the
account id, so a broadcast can never delete every account), ``acknowledge`` (``ack``:
acknowledge open reconciliation discrepancies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final

from core.errors import InvalidValue
from core.execution import ExecutionResult


class Override(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    HALT = "halt"
    RESUME_ALL = "resume_all"
    DELETE = "delete"
    ACKNOWLEDGE = "acknowledge"


_ALIASES: Final[dict[str, Override]] = {
    "flatten_now": Override.FLATTEN,
    "kill": Override.HALT,
    "kill_switch": Override.HALT,
    "resume-all": Override.RESUME_ALL,
    "ack": Override.ACKNOWLEDGE,
}


@dataclass(frozen=True, slots=True)
class Command:
    override: Override
    by: str
    reason: str
    confirm: str | None = None


def parse_command(raw: Mapping[str, Any]) -> Command:
    """The command in ``raw``; ``InvalidValue`` naming the problem otherwise."""
    name = str(raw.get("cmd", "")).strip().lower()
    override = _ALIASES.get(name)
    if override is None:
        try:
            override = Override(name)
        except ValueError:
            known = sorted({*(o.value for o in Override), *_ALIASES})
            raise InvalidValue(f"unknown command {name!r}; known: {', '.join(known)}") from None
    confirm = raw.get("confirm")
    return Command(
        override=override,
        by=str(raw.get("by") or "unknown"),
        reason=str(raw.get("reason") or ""),
        confirm=None if confirm is None else str(confirm),
    )


@dataclass(frozen=True, slots=True)
class ControlState:
    """What overrides decided. ``paused``: no new entries (exits run). ``halted``: the kill
    switch (no new entries, entry orders cancelled). ``deleting``: closing out before a purge."""

    paused: bool = False
    halted: bool = False
    halt_reason: str = ""
    deleting: bool = False
    deleted: bool = False

    @property
    def entries_allowed(self) -> bool:
        return not (self.paused or self.halted or self.deleting or self.deleted)

    def to_payload(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "halted": self.halted,
            "halt_reason": self.halt_reason,
            "deleting": self.deleting,
            "deleted": self.deleted,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ControlState:
        state = payload.get("state", {})
        if not isinstance(state, Mapping):
            return cls()
        return cls(
            paused=bool(state.get("paused", False)),
            halted=bool(state.get("halted", False)),
            halt_reason=str(state.get("halt_reason", "")),
            deleting=bool(state.get("deleting", False)),
            deleted=bool(state.get("deleted", False)),
        )

    def after(self, command: Command) -> ControlState:
        """The state once ``command`` is applied (flatten and acknowledge change nothing here)."""
        match command.override:
            case Override.PAUSE:
                return replace(self, paused=True)
            case Override.RESUME:
                return replace(self, paused=False)
            case Override.HALT:
                return replace(self, halted=True, halt_reason=command.reason or f"halted by {command.by}")
            case Override.RESUME_ALL:
                return replace(self, paused=False, halted=False, halt_reason="")
            case Override.DELETE:
                return replace(self, deleting=True, halted=True, halt_reason="account being deleted")
            case _:
                return self


@dataclass(frozen=True, slots=True)
class OverrideResult:
    """What an override did; ``results`` are the exit orders it sent."""

    command: str
    accepted: bool
    detail: str
    state: ControlState
    results: tuple[ExecutionResult, ...] = ()
