"""Connecting to Ray, the one way every command and actor does it: a running cluster when there
is one, else a small local one.

``connect`` is idempotent. It joins the cluster named by ``address`` or ``RAY_ADDRESS``, else
one already running on this machine (``address="auto"``), else it starts a local Ray sized for
a laptop. Every desk actor lives in the ``raydesk`` namespace.
"""

from __future__ import annotations

import os
from typing import Any

from actors import NAMESPACE

_dashboard: dict[str, str] = {}


def connect(
    address: str | None = None,
    namespace: str = NAMESPACE,
    *,
    num_cpus: int | None = None,
    include_dashboard: bool = False,
    local_only: bool = False,
) -> Any:
    """Initialise Ray once; returns the ``ray`` module.

    ``local_only`` skips looking for a running cluster (tests, one-off scripts).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return ray
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        ray.init(address=target, namespace=namespace, log_to_driver=False)
        return ray
    if not local_only and attach(namespace=namespace):
        return ray
    context = ray.init(
        num_cpus=num_cpus,
        include_dashboard=include_dashboard,
        dashboard_host="127.0.0.1",
        namespace=namespace,
        log_to_driver=False,
        configure_logging=False,
    )
    if context.dashboard_url:
        _dashboard["url"] = f"http://{context.dashboard_url}"
    return ray


def attach(address: str | None = None, namespace: str = NAMESPACE) -> bool:
    """Join a running Ray cluster if there is one (never starts one); whether this process is on Ray."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return True
    try:
        ray.init(
            address=address or os.environ.get("RAY_ADDRESS", "auto"), namespace=namespace, log_to_driver=False
        )
    except (ConnectionError, RuntimeError):
        return False
    return True


def dashboard_url() -> str | None:
    """The Ray dashboard of the local Ray this process started (bound to loopback), if any."""
    return _dashboard.get("url")


def is_connected() -> bool:
    """Whether this process is attached to Ray (without starting it)."""
    import ray

    return bool(ray.is_initialized())
