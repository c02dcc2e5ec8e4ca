"""``RedisCommandInbox``: commands for account actors, one Redis list per account.

``{prefix}:cmd:{account}`` holds the queued commands (JSON, oldest first). An account joins
``{prefix}:cmd:accounts`` the first time it pops; a ``BROADCAST`` push is copied into the list
of every account in that set, so it is ordered with, and delivered like, direct commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import redis
from redis.client import Pipeline

from adapters.cache import codec
from adapters.cache.errors import translated
from core.model import AccountId
from core.ports.cache import BROADCAST


class RedisCommandInbox:
    """The ``CommandInbox`` port on Redis lists."""

    def __init__(self, client: redis.Redis, prefix: str = "raydesk") -> None:
        self._r = client
        self._prefix = prefix
        self._accounts_key = f"{prefix}:cmd:accounts"

    def _key(self, account: str) -> str:
        return f"{self._prefix}:cmd:{account}"

    def push(self, account_id: AccountId | str, command: Mapping[str, Any]) -> None:
        text = codec.dumps(dict(command))
        if str(account_id) != BROADCAST:
            account = AccountId.of(account_id).value
            with translated("push command"):
                self._r.rpush(self._key(account), text)
            return

        def fan_out(pipe: Pipeline) -> None:
            # Under WATCH: an account registering meanwhile aborts and retries the fan-out.
            members = cast(set[str], pipe.smembers(self._accounts_key))
            pipe.multi()
            for account in sorted(members):
                pipe.rpush(self._key(account), text)

        with translated("broadcast command"):
            self._r.transaction(fan_out, self._accounts_key)

    def pop_all(self, account_id: AccountId | str) -> list[dict[str, Any]]:
        account = AccountId.of(account_id).value
        key = self._key(account)
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self._accounts_key, account)
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        with translated("pop commands"):
            _, items, _ = pipe.execute()
        return [cast(dict[str, Any], codec.loads(item)) for item in items]

    def known_accounts(self) -> list[str]:
        """The accounts a broadcast reaches."""
        with translated("list inbox accounts"):
            return sorted(cast(set[str], self._r.smembers(self._accounts_key)))

    def forget(self, account_id: AccountId | str) -> None:
        """Stop broadcasting to a retired account and drop its queue."""
        account = AccountId.of(account_id).value
        pipe = self._r.pipeline(transaction=True)
        pipe.srem(self._accounts_key, account)
        pipe.delete(self._key(account))
        with translated("forget inbox account"):
            pipe.execute()
