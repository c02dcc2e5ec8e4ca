"""``RedisEventLog``: the desk's event log on one Redis stream, ``{prefix}:events``.

Each entry has the fields ``kind``, ``account``, ``ts`` (ISO-8601 UTC) and ``payload`` (JSON).
Stream ids order the events; the stream is capped at ``maxlen`` entries (``approximate`` trims
whole nodes, which is much cheaper; the exact length may then exceed ``maxlen`` a little). The
ledger, not this log, is the durable record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Final, cast

import redis

from adapters.cache import codec
from adapters.cache.errors import translated
from core.clock import ensure_utc
from core.errors import InvalidValue
from core.ports.cache import Event

_FIELDS: Final = frozenset({"kind", "account", "ts", "payload"})
_BATCH: Final = 200


def _event_fields(event: Mapping[str, Any]) -> dict[str, str]:
    missing = {"kind", "account", "ts"} - event.keys()
    extra = event.keys() - _FIELDS
    if missing or extra:
        raise InvalidValue(
            f"an event has kind, account, ts and payload; missing {sorted(missing)}, "
            f"unexpected {sorted(extra)} (put details in the payload)"
        )
    kind, account, ts, payload = event["kind"], event["account"], event["ts"], event.get("payload", {})
    if not isinstance(kind, str) or not kind:
        raise InvalidValue(f"event kind must be a non-empty string, got {kind!r}")
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if not isinstance(ts, datetime):
        raise InvalidValue(f"event ts must be a datetime, got {ts!r}")
    if not isinstance(payload, Mapping):
        raise InvalidValue(f"event payload must be a mapping, got {type(payload).__name__}")
    return {
        "kind": kind,
        "account": str(account),
        "ts": ensure_utc(ts).isoformat(),
        "payload": codec.dumps(dict(payload)),
    }


def _decode(entry_id: str, fields: Mapping[str, str]) -> Event:
    return entry_id, {
        "kind": fields["kind"],
        "account": fields["account"],
        "ts": fields["ts"],
        "payload": codec.loads(fields["payload"]),
    }


class RedisEventLog:
    """The ``EventLog`` port on a Redis stream."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "raydesk",
        maxlen: int = 100_000,
        approximate: bool = True,
    ) -> None:
        if maxlen <= 0:
            raise InvalidValue(f"maxlen must be positive, got {maxlen}")
        self._r = client
        self.key = f"{prefix}:events"
        self._maxlen = maxlen
        self._approximate = approximate

    def publish(self, event: Mapping[str, Any]) -> str:
        fields = _event_fields(event)
        with translated("publish event"):
            entry_id = self._r.xadd(
                self.key,
                cast(dict[Any, Any], fields),
                maxlen=self._maxlen,
                approximate=self._approximate,
            )
        return str(entry_id)

    def read(
        self,
        since_id: str | None = None,
        count: int = 100,
        kinds: Collection[str] | None = None,
    ) -> list[Event]:
        return self._scan(
            forward=True, bound=None if since_id is None else since_id, count=count, kinds=kinds
        )

    def tail(self, count: int = 100, kinds: Collection[str] | None = None) -> list[Event]:
        return self._scan(forward=False, bound=None, count=count, kinds=kinds)[::-1]

    def length(self) -> int:
        with translated("event log length"):
            return int(self._r.xlen(self.key))

    def _scan(
        self, *, forward: bool, bound: str | None, count: int, kinds: Collection[str] | None
    ) -> list[Event]:
        """Up to ``count`` matching events past ``bound`` (exclusive), in scan order.

        Kinds are filtered here, not by Redis, so a filtered scan may take several batches.
        """
        wanted = None if kinds is None else frozenset(kinds)
        out: list[Event] = []
        cursor = bound
        while len(out) < count:
            ask = count - len(out) if wanted is None else max(_BATCH, count)
            edge = "-" if forward else "+"
            start = edge if cursor is None else f"({cursor}"
            with translated("read events"):
                if forward:
                    batch = self._r.xrange(self.key, min=start, max="+", count=ask)
                else:
                    batch = self._r.xrevrange(self.key, max=start, min="-", count=ask)
            entries = cast(list[tuple[str, dict[str, str]]], batch)
            for entry_id, fields in entries:
                if wanted is None or fields.get("kind") in wanted:
                    out.append(_decode(entry_id, fields))
                    if len(out) == count:
                        break
            if len(entries) < ask:
                break
            cursor = entries[-1][0]
        return out
