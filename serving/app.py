"""The Serve deployment: each replica holds the models and answers HTTP on its own listener.

Serve manages the replicas (placement, health, rolling restarts, ``user_config`` hot swaps,
handles); HTTP does not go through Serve's proxy. ``reconfigure`` starts the replica's listener
(``serving.ingress``) on the configured ``host:port`` and rebinds it if they change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ray import serve

from serving.config import ServingConfig
from serving.endpoint import ScoringEndpoint
from serving.http_api import build_api
from serving.ingress import Listener, score_router
from serving.metrics import ScoringMetrics

__all__ = ["ScoringService"]


@serve.deployment(name="ScoringService")
class ScoringService:
    """One replica: the loaded models of every served strategy and an HTTP listener."""

    def __init__(self) -> None:
        replica = serve.get_replica_context().replica_id.unique_id
        self._endpoint = ScoringEndpoint(replica, ScoringMetrics())
        self._app = score_router(self._endpoint, build_api(self._endpoint))
        self._listener: Listener | None = None

    async def reconfigure(self, user_config: Mapping[str, Any]) -> None:
        """Swap in the versions of a new ``user_config`` (a hot swap); (re)bind the listener."""
        config = ServingConfig.from_user_config(user_config)
        self._endpoint.apply(config)
        current = self._listener
        if current is None or (current.host, current.port) != (config.host, config.port):
            listener = Listener(self._app, config.host, config.port)
            await listener.start()  # an address in use fails the reconfigure, loudly
            self._listener = listener
            if current is not None:
                await current.stop()

    async def score_rows(
        self, strategy: str, rows: Sequence[Mapping[str, float]]
    ) -> tuple[int, dict[str, Any]]:
        """The handle path (inside the cluster, no HTTP, no token): ``(status, body)``."""
        reply = await self._endpoint.score_rows(strategy, rows)
        return reply.status, reply.body

    def current_config(self) -> dict[str, Any]:
        """The ``user_config`` this replica serves (for updates that keep everything else)."""
        return self._endpoint.state.config.to_user_config()

    def check_health(self) -> None:
        """Serve's health check: unhealthy (and replaced) if the HTTP listener has stopped."""
        if self._listener is not None and not self._listener.alive:
            raise RuntimeError("the scoring HTTP listener stopped")

    async def __del__(self) -> None:
        """Graceful shutdown: stop accepting, finish the requests in flight."""
        if self._listener is not None:
            await self._listener.stop()
