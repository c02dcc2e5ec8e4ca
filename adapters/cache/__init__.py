"""Redis implementations of the cache ports: quotes, the event log, account state, commands."""

from adapters.cache.commands import RedisCommandInbox
from adapters.cache.errors import CacheError, CacheUnavailable
from adapters.cache.events import RedisEventLog
from adapters.cache.quotes import RedisQuoteCache
from adapters.cache.redis_conn import EmbeddedRedis, RedisConnection, client_from_url, connect
from adapters.cache.state import RedisStateBoard

__all__ = [
    "CacheError",
    "CacheUnavailable",
    "EmbeddedRedis",
    "RedisCommandInbox",
    "RedisConnection",
    "RedisEventLog",
    "RedisQuoteCache",
    "RedisStateBoard",
    "client_from_url",
    "connect",
]
