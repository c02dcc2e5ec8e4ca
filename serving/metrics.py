"""Ray metrics of the scoring endpoint (exported to Prometheus through Ray)."""

from __future__ import annotations

from ray.util.metrics import Counter, Gauge, Histogram

__all__ = ["ScoringMetrics"]

_LATENCY_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]


class ScoringMetrics:
    """Request count, latency, rows and the served model version per strategy."""

    def __init__(self) -> None:
        self.requests = Counter(
            "raydesk_scoring_requests",
            description="Scoring requests by strategy and HTTP status.",
            tag_keys=("strategy", "status"),
        )
        self.latency = Histogram(
            "raydesk_scoring_latency_ms",
            description="Scoring request latency inside the replica, milliseconds.",
            boundaries=_LATENCY_MS,
            tag_keys=("strategy",),
        )
        self.rows = Counter(
            "raydesk_scoring_rows", description="Rows scored by strategy.", tag_keys=("strategy",)
        )
        self.model_version = Gauge(
            "raydesk_model_version",
            description="Version number of the model each replica serves (0: none promoted).",
            tag_keys=("strategy",),
        )

    def record(self, strategy: str, status: int, latency_ms: float, rows: int) -> None:
        tags = {"strategy": strategy}
        self.requests.inc(1, tags={"strategy": strategy, "status": str(status)})
        self.latency.observe(latency_ms, tags=tags)
        if rows:
            self.rows.inc(rows, tags=tags)

    def served(self, strategy: str, version: str | None) -> None:
        self.model_version.set(int(version[1:]) if version else 0, tags={"strategy": strategy})
