"""``raydesk serve`` (start or update the scoring endpoint) and ``raydesk score`` (an HTTP client)."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console

from cluster.cli.errors import exit_on_error

DEFAULT_REGISTRY = Path("var/models")

_out = Console()


def _settings() -> Any | None:
    try:
        from configs import load_settings
    except ImportError:
        return None
    return load_settings()


def _strategies(settings: Any | None, registry: Path, given: str | None) -> list[str]:
    """``--strategies``, else every strategy of the configured accounts plus the registry's."""
    if given:
        return [s.strip() for s in given.split(",") if s.strip()]
    names: list[str] = []
    if settings is not None:
        names += [s for account in settings.accounts for s in account.strategies]
    if registry.is_dir():
        from core.clock import LiveClock
        from training.registry import ModelRegistry

        names += ModelRegistry(registry, LiveClock()).strategies()
    return list(dict.fromkeys(names))


def serve(
    registry: Annotated[
        Path, typer.Option("--registry", help="Root of the model registry.")
    ] = DEFAULT_REGISTRY,
    strategies: Annotated[
        str | None,
        typer.Option(help="Comma-separated strategies (default: the accounts' and the registry's)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings serve.host).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default: settings serve.port).")] = None,
    replicas: Annotated[int, typer.Option(help="Number of replicas.")] = 1,
    address: Annotated[
        str, typer.Option(help="Ray address to connect to; 'auto' finds a running cluster.")
    ] = "auto",
    block: Annotated[
        bool | None,
        typer.Option("--block/--no-block", help="Keep running (default: only when Ray was started here)."),
    ] = None,
) -> None:
    """Start the scoring endpoint, or update it in place if it runs (promoted versions, limits)."""
    from cluster.runtime import attach
    from cluster.runtime import connect as connect_ray
    from serving.deploy import deploy
    from serving.options import ServingOptions

    settings = _settings()
    with exit_on_error():
        overrides: dict[str, Any] = {"num_replicas": replicas}
        if host is not None:
            overrides["host"] = host
        if port is not None:
            overrides["port"] = port
        options = (
            ServingOptions.from_settings(settings.serve, **overrides)
            if settings is not None
            else ServingOptions(**overrides)
        )
        options.check_bind()
        names = _strategies(settings, registry, strategies)
        if not names:
            raise typer.BadParameter("no strategies: pass --strategies or register a model first")
        local = not attach(address)
        if local:
            connect_ray(local_only=True)
        deploy(registry, names, options)
    _out.print(
        f"[green]serving[/green] {', '.join(names)} at http://{options.host}:{options.port}/v1/score/<strategy> "
        f"(docs: /docs){' with a bearer token' if options.token else ''}",
        highlight=False,
    )
    if block if block is not None else local:
        _out.print("Ctrl-C to stop")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


def score(
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    file: Annotated[Path, typer.Argument(help='JSON file: {"rows": [...]} or a list of rows.')],
    url: Annotated[
        str | None, typer.Option(help="Endpoint (default: from settings serve.host/port).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="RAYDESK_SERVE_TOKEN", help="Bearer token (default: settings serve.token)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before giving up.")] = 5.0,
) -> None:
    """Score the rows in FILE with STRATEGY's promoted model and print the JSON reply."""
    from serving.client import HttpScorer

    settings = _settings()
    if url is None:
        serve_cfg = settings.serve if settings is not None else None
        url = f"http://{serve_cfg.host if serve_cfg else '127.0.0.1'}:{serve_cfg.port if serve_cfg else 8000}"
    secret: SecretStr | str | None = token
    if secret is None and settings is not None:
        secret = settings.serve.token
    with exit_on_error(1), exit_on_error(2, OSError, ValueError):
        doc = json.loads(file.read_text())
        rows = doc["rows"] if isinstance(doc, dict) and "rows" in doc else doc
        if not isinstance(rows, list):
            raise typer.BadParameter('FILE must hold {"rows": [...]} or a list of rows')
        with HttpScorer(url, token=secret, timeout_s=timeout) as scorer:
            scores = scorer.score(strategy, rows)
    print(
        json.dumps(
            {
                "strategy": scores.strategy,
                "model_version": scores.model_version,
                "features": list(scores.features),
                "scores": list(scores.scores),
            },
            indent=2,
        )
    )
