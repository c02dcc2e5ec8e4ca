"""The Serve deployment: a FastAPI ingress that validates, batches and predicts in one replica.

No second hop: the ingress replica holds the models. The hot path skips pydantic (bodies are
validated by ``serving.validation``) and answers with pre-encoded JSON.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the route signatures.
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from ray import serve
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.batching import Coalescer
from serving.config import ServingConfig
from serving.metrics import ScoringMetrics
from serving.schemas import ErrorBody, ModelsResponse, ScoreRequest, ScoreResponse
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

__all__ = ["ScoringService", "api"]

log = logging.getLogger("raydesk.serving")

api = FastAPI(
    title="raydesk scoring",
    version="1",
    description="Scores feature rows with the promoted LightGBM model of each strategy.",
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what}
    for code, what in {
        401: "Missing or wrong bearer token.",
        404: "Unknown strategy.",
        413: "Body too large.",
        422: "Invalid body or rows; `fields` names the offending field.",
        503: "Nothing promoted (or loadable) for this strategy yet.",
    }.items()
}
_SCORE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ScoreRequest.model_json_schema()}},
    }
}
_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _json(reply: Reply) -> Response:
    return Response(reply.encode(), status_code=reply.status, media_type="application/json")


@api.exception_handler(RequestValidationError)
async def _invalid(_: Request, exc: RequestValidationError) -> Response:
    fields = [(".".join(str(p) for p in e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors()]
    return _json(error(422, "invalid_request", "request failed validation", fields))


@api.exception_handler(StarletteHTTPException)
async def _http(_: Request, exc: StarletteHTTPException) -> Response:
    return _json(error(exc.status_code, _CODES.get(exc.status_code, "http_error"), str(exc.detail)))


@api.exception_handler(Exception)
async def _crash(_: Request, exc: Exception) -> Response:
    log.exception("scoring request failed")
    return _json(error(500, "internal_error", f"internal error: {type(exc).__name__}"))


@serve.deployment(name="ScoringService")
@serve.ingress(api)
class ScoringService:
    """One replica: the loaded models of every served strategy."""

    def __init__(self) -> None:
        self._state = ServingState.empty()
        self._coalescer = Coalescer()
        self._metrics = ScoringMetrics()
        self._replica = serve.get_replica_context().replica_id.unique_id

    def reconfigure(self, user_config: Mapping[str, Any]) -> None:
        """Load the versions of a new ``user_config`` and swap them in (a hot swap)."""
        config = ServingConfig.from_user_config(user_config)
        state = next_state(self._state, config)
        self._coalescer.max_rows = config.max_batch_rows
        self._coalescer.wait_s = config.batch_wait_ms / 1000
        self._state = state  # one reference swap; in-flight requests keep their model
        for strategy in config.strategies:
            model = state.models.get(strategy)
            self._metrics.served(strategy, model.version if model else None)
        for strategy, why in state.load_errors.items():
            log.error("serving %s: %s", strategy, why)

    @api.post(
        "/v1/score/{strategy}",
        response_model=None,
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra=_SCORE_BODY,
        summary="Score feature rows with the strategy's promoted model",
    )
    async def score(self, strategy: str, request: Request) -> Response:
        started = time.perf_counter()
        state = self._state
        reply = authorize(state, request.headers.get("authorization"))
        rows = 0
        if reply is None:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > state.config.max_body_bytes:
                reply = error(413, "payload_too_large", f"body over {state.config.max_body_bytes} bytes")
            else:
                self._coalescer.enter()  # before awaiting the body, so a batch may wait for it
                reply, rows = await self._score(state, strategy, request, None)
        self._record(state, strategy, reply.status, started, rows)
        return _json(reply)

    async def score_rows(
        self, strategy: str, rows: Sequence[Mapping[str, float]]
    ) -> tuple[int, dict[str, Any]]:
        """The handle path (inside the cluster, no HTTP, no token): ``(status, body)``."""
        started = time.perf_counter()
        state = self._state
        self._coalescer.enter()
        reply, n = await self._score(state, strategy, None, list(rows))
        self._record(state, strategy, reply.status, started, n)
        return reply.status, reply.body

    async def _score(
        self, state: ServingState, strategy: str, request: Request | None, rows: Any
    ) -> tuple[Reply, int]:
        """Validate and score; the caller has ``enter``ed the coalescer."""
        submitted = False
        try:
            found = resolve(state, strategy)
            if isinstance(found, Reply):
                return found, 0
            model = found
            if request is not None:
                rows = parse_body(await request.body(), state.config.max_body_bytes)
            matrix = rows_matrix(rows, model.features, model.feature_set, state.config.max_rows_per_request)
            submitted = True
            scores = await self._coalescer.score(model, matrix)
            return scored(model, scores), len(matrix)
        except RowsInvalid as exc:
            return error(422, "invalid_request", str(exc), [(exc.field, exc.message)]), 0
        finally:
            if not submitted:
                self._coalescer.leave()

    def _record(self, state: ServingState, strategy: str, status: int, started: float, rows: int) -> None:
        tag = strategy if strategy in state.config.strategies else "_unknown"
        self._metrics.record(tag, status, (time.perf_counter() - started) * 1000, rows)

    @api.get("/v1/models", response_model=None, responses={200: {"model": ModelsResponse}, **_ERRORS})
    async def models(self, request: Request) -> Response:
        """Served strategies, their promoted and loaded versions and their metrics."""
        state = self._state
        return _json(authorize(state, request.headers.get("authorization")) or list_models(state))

    @api.get("/healthz")
    async def healthz(self) -> Response:
        """Liveness: the replica answers (and says which one, to tell a reconfigure from a restart)."""
        return _json(Reply(200, {"status": "ok", "replica": self._replica}))

    @api.get("/readyz")
    async def readyz(self) -> Response:
        """Readiness: every strategy with a promoted model has it loaded."""
        return _json(readiness(self._state))

    def current_config(self) -> dict[str, Any]:
        """The ``user_config`` this replica serves (for updates that keep everything else)."""
        return self._state.config.to_user_config()
