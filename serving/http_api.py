"""The FastAPI app of a replica: ``/v1/models``, probes, ``/docs`` and the error contract.

``POST /v1/score/{strategy}`` is declared here too (for the OpenAPI document and as a correct
fallback), but ``serving.ingress`` answers it on a raw ASGI route before FastAPI is involved.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the route signatures.
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.endpoint import ScoringEndpoint
from serving.schemas import ErrorBody, ModelsResponse, ScoreRequest, ScoreResponse
from serving.service import Reply, error

__all__ = ["build_api", "json_response"]

log = logging.getLogger("raydesk.serving")

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


def json_response(reply: Reply) -> Response:
    return Response(reply.encode(), status_code=reply.status, media_type="application/json")


def build_api(endpoint: ScoringEndpoint) -> FastAPI:
    """The FastAPI app answering for ``endpoint``."""
    api = FastAPI(
        title="raydesk scoring",
        version="1",
        description="Scores feature rows with the promoted LightGBM model of each strategy.",
    )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        fields = [(".".join(str(p) for p in e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors()]
        return json_response(error(422, "invalid_request", "request failed validation", fields))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = _CODES.get(exc.status_code, "http_error")
        return json_response(error(exc.status_code, code, str(exc.detail)))

    @api.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> Response:
        log.exception("scoring request failed")
        return json_response(error(500, "internal_error", f"internal error: {type(exc).__name__}"))

    @api.post(
        "/v1/score/{strategy}",
        response_model=None,
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra=_SCORE_BODY,
        summary="Score feature rows with the strategy's promoted model",
    )
    async def score(strategy: str, request: Request) -> Response:
        async def read(_: int) -> bytes:
            return await request.body()

        headers = request.headers
        reply = await endpoint.score_http(
            strategy, headers.get("authorization"), headers.get("content-length"), read
        )
        return json_response(reply)

    @api.get("/v1/models", response_model=None, responses={200: {"model": ModelsResponse}, **_ERRORS})
    async def models(request: Request) -> Response:
        """Served strategies, their promoted and loaded versions and their metrics."""
        return json_response(endpoint.models(request.headers.get("authorization")))

    # "/-/healthz" is the path KubeRay probes on a pod's serve port to route traffic to it.
    @api.get("/healthz")
    @api.get("/-/healthz", include_in_schema=False)
    async def healthz() -> Response:
        """Liveness: the replica answers (and says which one, to tell a reconfigure from a restart)."""
        return json_response(endpoint.health())

    @api.get("/readyz")
    async def readyz() -> Response:
        """Readiness: every strategy with a promoted model has it loaded."""
        return json_response(endpoint.ready())

    return api
