"""Start, update and hot-swap the ``raydesk-scoring`` Serve application.

A promotion or rollback changes only the ``user_config`` (the versions). The deployment keeps a
stable version string (a hash of this package's code), so Serve's controller sees an unchanged
code version and calls ``reconfigure`` on the live replicas instead of replacing them
(``DeploymentVersion.requires_actor_restart`` is false, ``requires_actor_reconfigure`` true).
A plain ``serve.run`` would give every run a random version and restart the replicas.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import lightgbm
import ray
from pydantic import SecretStr
from ray import serve
from ray.serve.deployment import Deployment
from ray.serve.handle import DeploymentHandle

from core.clock import Clock, LiveClock
from core.errors import ConfigError
from serving import APP_NAME
from serving.config import ServingConfig
from serving.models import load_model
from serving.options import ServingOptions
from training.registry import ModelRegistry

__all__ = [
    "build_app",
    "code_version",
    "connect",
    "current_config",
    "deploy",
    "is_deployed",
    "promoted_versions",
    "refresh_after_promotion",
    "serving_config",
    "update_versions",
]

log = logging.getLogger("raydesk.serving")

# Serve's knobs for the replicas (HTTP does not go through Serve: see ``serving.ingress``). User
# code runs on the replica's main loop, where ``reconfigure`` starts the HTTP listener, so HTTP
# requests, handle calls and reconfigures share one loop and one ``Coalescer``.
SERVE_ENV: dict[str, str] = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_USE_GRPC_BY_DEFAULT": "1",  # handle -> replica over gRPC, not Ray actor calls
    "RAY_SERVE_LOG_TO_STDERR": "0",  # replica logs still go to the Ray log files
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
    "POLARS_MAX_THREADS": "1",  # large-body parsing (serving.fastparse): faster than 2 on 2 cores
}


def code_version() -> str:
    """A hash of the serving code and LightGBM: replicas restart only when it changes."""
    digest = hashlib.sha256(lightgbm.__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return f"raydesk-scoring-{digest.hexdigest()[:16]}"


def promoted_versions(registry: ModelRegistry, strategies: Sequence[str]) -> dict[str, str | None]:
    """The promoted version of each strategy (None: nothing promoted yet)."""
    out: dict[str, str | None] = {}
    for strategy in strategies:
        model = registry.promoted(strategy)
        out[strategy] = model.version if model else None
    return out


def _preflight(registry: ModelRegistry, versions: Mapping[str, str | None]) -> None:
    # Load each model here first: a broken artifact fails the caller, not the replicas.
    for strategy, version in versions.items():
        if version is not None:
            load_model(registry, registry.get(strategy, version))


def _application(config: ServingConfig) -> Any:
    from serving.app import ScoringService

    deployment = cast(Deployment, ScoringService).options(
        num_replicas=config.num_replicas,
        max_ongoing_requests=config.max_ongoing_requests,
        ray_actor_options={"num_cpus": config.replica_cpus, "runtime_env": {"env_vars": dict(SERVE_ENV)}},
        logging_config={"enable_access_log": False, "log_level": "WARNING"},
        graceful_shutdown_timeout_s=10,
        user_config=config.to_user_config(),
    )
    # Serve's public API no longer takes a version; the internal flag is what keeps it stable.
    return deployment.options(version=code_version(), _internal=True).bind()


def _run(config: ServingConfig) -> DeploymentHandle[Any]:
    handle: DeploymentHandle[Any] = serve.run(_application(config), name=APP_NAME, route_prefix=None)
    return handle


def deploy(
    registry_root: Path,
    strategies: Sequence[str],
    options: ServingOptions,
    clock: Clock | None = None,
) -> DeploymentHandle[Any]:
    """Start (or update in place) the scoring app serving the promoted model of ``strategies``.

    Refuses a non-loopback host without a token. The replicas listen on ``options.host:port``
    themselves; Serve is started without its HTTP proxy, and an instance already running with a
    proxy on that port is refused (the two would share the port).
    """
    config = serving_config(registry_root, strategies, options, clock)
    serve.start(proxy_location="Disabled", controller_options={"runtime_env": {"env_vars": dict(SERVE_ENV)}})
    _refuse_proxy_on(options.port)
    return _run(config)


def serving_config(
    registry_root: Path | str,
    strategies: Sequence[str],
    options: ServingOptions,
    clock: Clock | None = None,
) -> ServingConfig:
    """The checked ``ServingConfig`` of the promoted models of ``strategies`` (bind and artifacts)."""
    options.check_bind()
    if not strategies:
        raise ValueError("deploy: no strategies to serve")
    registry = ModelRegistry(Path(registry_root), clock or LiveClock())
    versions = promoted_versions(registry, strategies)
    _preflight(registry, versions)
    return ServingConfig.build(registry_root, strategies, options, versions)


def build_app(args: Mapping[str, str]) -> Any:
    """Serve's application builder (``serving.deploy:build_app``) for ``serve run`` and KubeRay.

    ``args`` (all strings, as serveConfigV2 gives them): ``registry_root``, ``strategies``
    (comma-separated), and optionally ``host``, ``port``, ``replicas``. The bearer token is read
    from ``RAYDESK_SERVE__TOKEN`` only: ``args`` are shown in Serve's status. The cluster's Serve
    must run without its proxy (``proxy_location: Disabled``): the replicas
    listen there themselves.
    """
    unknown = set(args) - {"registry_root", "strategies", "host", "port", "replicas"}
    if unknown or "registry_root" not in args or "strategies" not in args:
        raise ConfigError(
            "build_app: args need registry_root and strategies (optional host, port, replicas); "
            f"unknown: {sorted(unknown)}"
        )
    token = os.environ.get("RAYDESK_SERVE__TOKEN")
    options = ServingOptions(
        host=args.get("host", "127.0.0.1"),
        port=int(args.get("port", "8000")),
        num_replicas=int(args.get("replicas", "1")),
        token=SecretStr(token) if token else None,
    )
    strategies = [s.strip() for s in args["strategies"].split(",") if s.strip()]
    return _application(serving_config(args["registry_root"], strategies, options))


def _refuse_proxy_on(port: int) -> None:
    """Raise if Serve's own HTTP proxy runs on ``port`` (started by someone else's ``serve.start``)."""
    if not serve.status().proxies:
        return
    from ray.serve.context import _get_global_client

    client = _get_global_client()
    if client is not None and client.http_config.port == port:
        raise ConfigError(
            f"serve.port: Ray Serve's HTTP proxy already listens on {port}; the scoring replicas "
            "serve HTTP themselves: pick another port or restart Serve ('serve shutdown')"
        )


def is_deployed() -> bool:
    """True if the scoring app exists in the connected cluster."""
    try:
        return APP_NAME in serve.status().applications
    except Exception:  # Serve not started in this cluster
        return False


def current_config() -> ServingConfig:
    """The ``user_config`` the running app serves (read from a replica)."""
    handle = serve.get_app_handle(APP_NAME)
    raw: dict[str, Any] = handle.current_config.remote().result(timeout_s=30)
    return ServingConfig.from_user_config(raw)


def update_versions(clock: Clock | None = None) -> dict[str, str | None]:
    """Push the registry's promoted versions to the running app (a reconfigure, not a redeploy).

    Returns the versions now served. Everything else (strategies, limits, shape) is kept.
    """
    config = current_config()
    registry = ModelRegistry(Path(config.registry_root), clock or LiveClock())
    versions = promoted_versions(registry, config.strategies)
    if dict(versions) != dict(config.versions):
        _preflight(registry, versions)
        _run(config.with_versions(versions))
    return versions


def connect(address: str | None = "auto") -> bool:
    """Connect to a running Ray cluster; False if there is none (nothing is started)."""
    if ray.is_initialized():
        return True
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except ConnectionError:
        return False
    return True


def refresh_after_promotion(address: str | None = "auto") -> dict[str, str | None] | None:
    """For ``raydesk models promote/rollback`` and the nightly retrain: swap served models.

    None when no cluster or no scoring app is running (the next ``raydesk serve`` picks up the
    registry's promoted versions anyway).
    """
    if not connect(address) or not is_deployed():
        return None
    return update_versions()
