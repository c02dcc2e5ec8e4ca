"""Redis failures translated into the raydesk error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from core.errors import PermanentError, TemporaryError


class CacheUnavailable(TemporaryError):
    """Redis could not be reached, timed out, or is still loading its data set."""


class CacheError(PermanentError):
    """Redis refused a command (a wrong type, a bad argument): a bug, not an outage."""


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise redis-py errors from the block as ``CacheUnavailable`` or ``CacheError``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        # BusyLoadingError (a restarted server reading its RDB) is a ConnectionError: temporary.
        raise CacheUnavailable(f"redis unavailable during {what}: {exc}") from exc
    except redis.RedisError as exc:
        raise CacheError(f"redis refused {what}: {exc}") from exc
