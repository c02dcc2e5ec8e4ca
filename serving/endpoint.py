"""``ScoringEndpoint``: a replica's scoring logic behind any transport (raw ASGI, FastAPI, handle).

No Ray and no HTTP framework here: the methods take header values and a body reader and return
``Reply`` objects, so the raw route, the FastAPI routes and the handle share one code path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from serving.batching import Coalescer
from serving.config import ServingConfig
from serving.fastparse import FAST_MIN_BYTES, fast_matrix
from serving.metrics import ScoringMetrics
from serving.service import (
    Reply,
    ServingState,
    authorize,
    error,
    list_models,
    next_state,
    readiness,
    resolve,
    scored,
)
from serving.validation import RowsInvalid, parse_body, rows_matrix

__all__ = ["BodyReader", "ScoringEndpoint"]

log = logging.getLogger("raydesk.serving")

BodyReader = Callable[[int], Awaitable[bytes]]
"""Reads a request body, at most ``limit + 1`` bytes (more is refused by ``parse_body``)."""


class ScoringEndpoint:
    """The loaded models of every served strategy, and how a request is answered."""

    def __init__(self, replica: str, metrics: ScoringMetrics | None = None) -> None:
        self.replica = replica
        self.state = ServingState.empty()
        self.coalescer = Coalescer()
        self._metrics = metrics

    def apply(self, config: ServingConfig) -> None:
        """Load the versions of ``config`` and swap them in with one reference assignment."""
        state = next_state(self.state, config)
        self.coalescer.max_rows = config.max_batch_rows
        self.coalescer.wait_s = config.batch_wait_ms / 1000
        self.state = state  # in-flight requests keep the state (and model) they started with
        if self._metrics is not None:
            for strategy in config.strategies:
                model = state.models.get(strategy)
                self._metrics.served(strategy, model.version if model else None)
        for strategy, why in state.load_errors.items():
            log.error("serving %s: %s", strategy, why)

    async def score_http(
        self, strategy: str, authorization: str | None, content_length: str | None, read: BodyReader
    ) -> Reply:
        """``POST /v1/score/{strategy}``: auth, size limit, then ``read`` the body and score it."""
        started = time.perf_counter()
        state = self.state
        reply = authorize(state, authorization)
        rows = 0
        if reply is None:
            limit = state.config.max_body_bytes
            if content_length is not None and content_length.isdigit() and int(content_length) > limit:
                reply = error(413, "payload_too_large", f"body over {limit} bytes")
            else:
                self.coalescer.enter()  # before awaiting the body, so a batch may wait for it
                reply, rows = await self._score(state, strategy, read, None)
        self._record(state, strategy, reply.status, started, rows)
        return reply

    async def score_rows(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Reply:
        """The handle path (inside the cluster, no HTTP, no token)."""
        started = time.perf_counter()
        state = self.state
        self.coalescer.enter()
        reply, n = await self._score(state, strategy, None, list(rows))
        self._record(state, strategy, reply.status, started, n)
        return reply

    def models(self, authorization: str | None) -> Reply:
        state = self.state
        return authorize(state, authorization) or list_models(state)

    def health(self) -> Reply:
        return Reply(200, {"status": "ok", "replica": self.replica})

    def ready(self) -> Reply:
        return readiness(self.state)

    async def _score(
        self, state: ServingState, strategy: str, read: BodyReader | None, rows: Any
    ) -> tuple[Reply, int]:
        """Validate and score; the caller has ``enter``ed the coalescer."""
        submitted = False
        try:
            found = resolve(state, strategy)
            if isinstance(found, Reply):
                return found, 0
            model = found
            matrix = None
            if read is not None:
                limit = state.config.max_body_bytes
                body = await read(limit)
                if FAST_MIN_BYTES <= len(body) <= limit:
                    matrix = fast_matrix(
                        body, model.features, model.feature_set, state.config.max_rows_per_request
                    )
                if matrix is None:
                    rows = parse_body(body, limit)
            if matrix is None:
                matrix = rows_matrix(
                    rows, model.features, model.feature_set, state.config.max_rows_per_request
                )
            submitted = True
            scores = await self.coalescer.score(model, matrix)
            return scored(model, scores), len(matrix)
        except RowsInvalid as exc:
            return error(422, "invalid_request", str(exc), [(exc.field, exc.message)]), 0
        finally:
            if not submitted:
                self.coalescer.leave()

    def _record(self, state: ServingState, strategy: str, status: int, started: float, rows: int) -> None:
        if self._metrics is None:
            return
        tag = strategy if strategy in state.config.strategies else "_unknown"
        self._metrics.record(tag, status, (time.perf_counter() - started) * 1000, rows)
