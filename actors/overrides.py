"""Delivering overrides (pause, resume, flatten, halt, delete ...) to accounts.

A running account actor applies a command at once (``command``, recorded by the service as an
``override`` ledger event mirrored to the event log). With no actor reachable the command is
queued in the Redis ``CommandInbox``, which the account drains at its next cycle, and the
queuing itself is recorded in the ledger and the event log, so an override is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors import NAMESPACE, account_actor_name
from actors.runtime import attach
from adapters.cache import CacheUnavailable, RedisCommandInbox, RedisEventLog, connect
from adapters.ledger.postgres import open_ledger
from configs import Settings
from core.clock import LiveClock
from core.model import AccountId

QUEUED_EVENT = "override.queued"


@dataclass(frozen=True, slots=True)
class Delivery:
    account_id: str
    how: str
    """``applied`` (by the running actor) or ``queued`` (inbox, applied at the next cycle)."""
    detail: str


def command(cmd: str, by: str, reason: str = "", **extra: Any) -> dict[str, Any]:
    return {"cmd": cmd, "by": by, "reason": reason, **extra}


def running_actor(account_id: str) -> Any | None:
    """The handle of the account's actor if a cluster runs it, else ``None``."""
    if not attach():
        return None
    import ray

    try:
        return ray.get_actor(account_actor_name(account_id), namespace=NAMESPACE)
    except ValueError:
        return None


def send(
    settings: Settings,
    account_id: str,
    cmd: Mapping[str, Any],
    timeout_s: float = 30.0,
    *,
    attach: bool = True,
) -> Delivery:
    """Apply ``cmd`` through the running actor, else queue it (see the module docstring).

    ``attach=False`` never joins Ray and always queues: a client of a desk's Redis by URL.
    """
    settings.account(account_id)  # KeyError for an unknown account
    handle = running_actor(account_id) if attach else None
    if handle is not None:
        import ray

        try:
            result = ray.get(handle.command.remote(dict(cmd)), timeout=timeout_s)
            return Delivery(account_id, "applied", result.detail)
        except ray.exceptions.RayError as exc:
            detail = f"actor unavailable ({type(exc).__name__}); "
    else:
        detail = ""
    return _queue(settings, account_id, cmd, detail)


def _queue(settings: Settings, account_id: str, cmd: Mapping[str, Any], detail: str) -> Delivery:
    clock = LiveClock()
    payload = dict(cmd)
    with open_ledger(settings.ledger.location, clock) as ledger:
        ledger.append_event(QUEUED_EVENT, payload, AccountId(account_id))
    try:
        with connect(settings.redis.url, path=settings.redis.embedded_path) as redis:
            RedisCommandInbox(redis.client).push(account_id, payload)
            RedisEventLog(redis.client).publish(
                {"kind": "override", "account": account_id, "ts": clock.now(), "payload": payload}
            )
    except CacheUnavailable as exc:
        return Delivery(account_id, "recorded", f"{detail}recorded in the ledger; Redis unavailable: {exc}")
    return Delivery(account_id, "queued", f"{detail}queued; applied at the account's next cycle")
