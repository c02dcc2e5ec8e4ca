"""``RedisStateBoard``: each account's TUI state as JSON in one hash, ``{prefix}:state``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import redis

from adapters.cache import codec
from adapters.cache.errors import translated
from core.model import AccountId


class RedisStateBoard:
    """The ``StateBoard`` port: one hash field per account, replaced whole on every set."""

    def __init__(self, client: redis.Redis, prefix: str = "raydesk") -> None:
        self._r = client
        self.key = f"{prefix}:state"

    def set_account_state(self, account_id: AccountId | str, state: Mapping[str, Any]) -> None:
        text = codec.dumps(dict(state))
        with translated("set account state"):
            self._r.hset(self.key, str(account_id), text)

    def get_account_state(self, account_id: AccountId | str) -> dict[str, Any] | None:
        with translated("get account state"):
            text = cast(str | None, self._r.hget(self.key, str(account_id)))
        return None if text is None else cast(dict[str, Any], codec.loads(text))

    def accounts(self) -> list[str]:
        with translated("list accounts"):
            return sorted(cast(list[str], self._r.hkeys(self.key)))

    def remove(self, account_id: AccountId | str) -> None:
        with translated("remove account state"):
            self._r.hdel(self.key, str(account_id))
