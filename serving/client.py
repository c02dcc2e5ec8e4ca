"""Clients implementing ``core.ports.Scorer``: over a Serve handle (in the cluster) or HTTP.

Failures map onto the core tree: ``ScoringUnavailable`` (a ``TemporaryError``: down, timed
out, overloaded, nothing promoted) and ``ScoringRejected`` (a ``PermanentError``: unknown
strategy, invalid rows, bad token). ``FallbackScorer`` turns both into ``None`` and counts them,
so a strategy falls back to its rules and the fallback is on record.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from core.errors import PermanentError, RaydeskError, TemporaryError
from core.ports.scorer import Scorer, Scores
from serving import APP_NAME
from serving.errors import ScoringRejected, ScoringUnavailable

__all__ = ["FallbackScorer", "HandleScorer", "HttpScorer", "scores_from"]

log = logging.getLogger("raydesk.serving")


def scores_from(status: int, body: Any) -> Scores:
    """``Scores`` from an endpoint reply, or the matching scoring error."""
    if status == 200 and isinstance(body, dict):
        try:
            return Scores(
                strategy=str(body["strategy"]),
                model_version=str(body["model_version"]),
                scores=tuple(float(s) for s in body["scores"]),
                features=tuple(str(f) for f in body["features"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScoringUnavailable(f"malformed scoring reply: {exc}") from exc
    message = body.get("message", "") if isinstance(body, dict) else str(body)[:200]
    if status in (408, 429) or status >= 500:
        raise ScoringUnavailable(f"scoring unavailable ({status}): {message}")
    raise ScoringRejected(status, message)


class HttpScorer:
    """``Scorer`` over the HTTP endpoint (outside the cluster). Thread-safe; ``close()`` when done."""

    def __init__(
        self,
        url: str,
        token: SecretStr | str | None = None,
        timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        headers = {"authorization": f"Bearer {secret}"} if secret else {}
        self._client = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        body = {"rows": [dict(r) for r in rows]}
        try:
            response = self._client.post(f"/v1/score/{strategy}", json=body)
        except httpx.HTTPError as exc:
            raise ScoringUnavailable(f"scoring endpoint unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        return scores_from(response.status_code, payload)

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``."""
        try:
            response = self._client.get("/v1/models")
        except httpx.HTTPError as exc:
            raise ScoringUnavailable(f"scoring endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            scores_from(response.status_code, response.json())
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpScorer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class HandleScorer:
    """``Scorer`` over a Serve ``DeploymentHandle`` (inside the cluster, no HTTP hop, no token).

    ``score`` blocks: call it from threads or sync actors; async code uses ``score_async``.
    """

    def __init__(self, handle: Any | None = None, timeout_s: float = 2.0) -> None:
        if handle is None:
            from ray import serve

            handle = serve.get_app_handle(APP_NAME)
        self._handle = handle
        self._timeout_s = timeout_s

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        try:
            status, body = self._handle.score_rows.remote(strategy, [dict(r) for r in rows]).result(
                timeout_s=self._timeout_s
            )
        except Exception as exc:  # Ray, Serve and time-out errors: the endpoint could not answer
            raise ScoringUnavailable(f"scoring deployment failed: {type(exc).__name__}: {exc}") from exc
        return scores_from(status, body)

    async def score_async(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        import asyncio

        try:
            status, body = await asyncio.wait_for(
                self._handle.score_rows.remote(strategy, [dict(r) for r in rows]), self._timeout_s
            )
        except Exception as exc:
            raise ScoringUnavailable(f"scoring deployment failed: {type(exc).__name__}: {exc}") from exc
        return scores_from(status, body)


class FallbackScorer:
    """Wraps a ``Scorer``: ``score`` returns ``None`` instead of raising, and records why.

    The caller then uses the strategy's rules. ``fallbacks`` counts ``(strategy, reason)`` with
    reason ``unavailable`` (temporary) or ``rejected`` (permanent: a bug worth an alert);
    ``on_fallback`` (e.g. a Ray metric or an event-log write) is called for each.
    """

    def __init__(
        self, scorer: Scorer, on_fallback: Callable[[str, str, RaydeskError], None] | None = None
    ) -> None:
        self.scorer = scorer
        self.fallbacks: Counter[tuple[str, str]] = Counter()
        self._on_fallback = on_fallback

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores | None:
        try:
            return self.scorer.score(strategy, rows)
        except TemporaryError as exc:
            self._fallback(strategy, "unavailable", exc)
        except PermanentError as exc:
            log.warning("scoring %s rejected, using rules: %s", strategy, exc)
            self._fallback(strategy, "rejected", exc)
        return None

    def _fallback(self, strategy: str, reason: str, exc: RaydeskError) -> None:
        self.fallbacks[(strategy, reason)] += 1
        if self._on_fallback is not None:
            self._on_fallback(strategy, reason, exc)
