"""``RedisQuoteCache``: the latest quote per instrument, one hash per instrument.

Key ``{prefix}:quote:{instrument}`` holds ``bid``/``ask`` (exact ``Decimal`` strings), ``ts``
(ISO-8601 UTC, microseconds) and ``bid_size``/``ask_size`` (float ``repr``). Last write wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

import redis

from adapters.cache.errors import translated
from core.clock import Clock, ensure_utc
from core.errors import DataError, InvalidValue, StaleData
from core.model import InstrumentId, Price, Quote
from core.ports.cache import DEFAULT_MAX_QUOTE_AGE_S


def encode_quote(quote: Quote) -> dict[str, str]:
    return {
        "bid": str(quote.bid.value),
        "ask": str(quote.ask.value),
        "ts": ensure_utc(quote.ts).isoformat(),
        "bid_size": repr(float(quote.bid_size)),
        "ask_size": repr(float(quote.ask_size)),
    }


def decode_quote(instrument_id: InstrumentId, fields: Mapping[str, str]) -> Quote:
    try:
        return Quote(
            instrument_id=instrument_id,
            bid=Price(fields["bid"]),
            ask=Price(fields["ask"]),
            ts=datetime.fromisoformat(fields["ts"]),
            bid_size=float(fields.get("bid_size", "0")),
            ask_size=float(fields.get("ask_size", "0")),
        )
    except (KeyError, ValueError, InvalidValue) as exc:
        raise DataError(f"malformed cached quote for {instrument_id}: {dict(fields)!r}") from exc


class RedisQuoteCache:
    """The ``QuoteCache`` port on Redis.

    ``ttl_s`` lets Redis drop quotes nobody refreshes (expired options) after that many real
    seconds; freshness never depends on it: it is judged from ``ts`` against the clock.
    """

    def __init__(
        self, client: redis.Redis, clock: Clock, prefix: str = "raydesk", ttl_s: int | None = None
    ) -> None:
        self._r = client
        self._clock = clock
        self._prefix = prefix
        self._ttl_s = ttl_s

    def _key(self, instrument_id: InstrumentId | str) -> str:
        return f"{self._prefix}:quote:{instrument_id}"

    def put(self, quote: Quote) -> None:
        self.put_many((quote,))

    def put_many(self, quotes: Iterable[Quote]) -> None:
        pipe = self._r.pipeline(transaction=False)
        for quote in quotes:
            key = self._key(quote.instrument_id)
            pipe.hset(key, mapping=cast(dict[Any, Any], encode_quote(quote)))
            if self._ttl_s is not None:
                pipe.expire(key, self._ttl_s)
        with translated("put quotes"):
            pipe.execute()

    def get(self, instrument_id: InstrumentId | str) -> Quote | None:
        iid = InstrumentId.of(instrument_id)
        with translated(f"get quote {iid}"):
            fields = cast(dict[str, str], self._r.hgetall(self._key(iid)))
        return decode_quote(iid, fields) if fields else None

    def get_fresh(
        self,
        instrument_id: InstrumentId | str,
        now: datetime | None = None,
        max_age_s: float = DEFAULT_MAX_QUOTE_AGE_S,
    ) -> Quote:
        """The latest quote if at most ``max_age_s`` old at ``now`` (default: the clock's now).

        Raises ``StaleData`` when there is none or it is too old, and ``CacheUnavailable`` (also
        a ``TemporaryError``) when Redis is down: callers reject the trade either way.
        """
        quote = self.get(instrument_id)
        if quote is None:
            raise StaleData(f"no quote for {instrument_id} (limit {max_age_s:g}s)")
        age = quote.age_seconds(self._clock.now() if now is None else now)
        if age > max_age_s:
            raise StaleData(f"quote for {instrument_id} is {age:.3f}s old (limit {max_age_s:g}s)")
        return quote

    def get_many(self, instrument_ids: Iterable[InstrumentId | str]) -> dict[InstrumentId, Quote]:
        ids = [InstrumentId.of(i) for i in instrument_ids]
        pipe = self._r.pipeline(transaction=False)
        for iid in ids:
            pipe.hgetall(self._key(iid))
        with translated("get quotes"):
            rows = cast(list[dict[str, Any]], pipe.execute())
        return {iid: decode_quote(iid, row) for iid, row in zip(ids, rows, strict=True) if row}
