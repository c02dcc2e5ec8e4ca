"""``RayMetrics``: the ``Metrics`` port on ``ray.util.metrics`` (Prometheus through Ray's
metrics agent; names appear as ``ray_<name>``, counters with ``_total``).

Every metric of ``TRADING_METRICS`` is created up front with its tag keys; an update with other
tags (an order id, say) is refused rather than exported.
"""

from __future__ import annotations

from collections.abc import Mapping

from ray.util.metrics import Counter, Gauge, Histogram

from core.errors import InvalidValue
from core.ports.metrics import TRADING_METRICS, MetricSpec, check_tags

__all__ = ["RayMetrics"]


class RayMetrics:
    """Create inside a Ray worker or driver (``ray.init`` done)."""

    def __init__(self, specs: Mapping[str, MetricSpec] = TRADING_METRICS) -> None:
        self._specs = dict(specs)
        self._counters: dict[str, Counter] = {}
        self._gauges: dict[str, Gauge] = {}
        self._histograms: dict[str, Histogram] = {}
        for spec in self._specs.values():
            if spec.kind == "counter":
                self._counters[spec.name] = Counter(spec.name, spec.description, spec.tags)
            elif spec.kind == "gauge":
                self._gauges[spec.name] = Gauge(spec.name, spec.description, spec.tags)
            else:
                self._histograms[spec.name] = Histogram(
                    spec.name, spec.description, list(spec.boundaries), spec.tags
                )

    def inc(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self._check(name, tags)
        self._counters[name].inc(value, tags=dict(tags))

    def set(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self._check(name, tags)
        self._gauges[name].set(value, tags=dict(tags))

    def observe(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self._check(name, tags)
        self._histograms[name].observe(value, tags=dict(tags))

    def _check(self, name: str, tags: Mapping[str, str]) -> None:
        spec = self._specs.get(name)
        if spec is None:
            raise InvalidValue(f"unknown metric {name}")
        check_tags(spec, tags)
