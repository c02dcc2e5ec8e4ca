"""``raydesk models``: list, inspect, promote and roll back registered models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from cluster.cli.errors import exit_on_error
from cluster.promotion import ServedRefresh
from core.clock import LiveClock
from training.registry import ModelNotFound, ModelRegistry, ModelVersion

app = typer.Typer(
    help="The model registry: list, inspect, promote and roll back models.",
    no_args_is_help=True,
)

DEFAULT_REGISTRY = Path("var/models")
RegistryOption = Annotated[Path, typer.Option("--registry", help="Root directory of the model registry.")]

_out = Console()


def _open(root: Path) -> ModelRegistry:
    # Never create a registry as a side effect of a typo in --registry.
    if not root.is_dir():
        raise ModelNotFound(f"no model registry at {root}")
    return ModelRegistry(root, LiveClock())


def _metric(model: ModelVersion, key: str, fmt: str) -> str:
    value = model.metrics.get(key)
    return format(value, fmt) if isinstance(value, int | float) else "-"


def _gates(model: ModelVersion) -> str:
    if model.gate_report is None:
        return "-"
    return "[green]pass[/green]" if model.gate_report.get("passed") else "[red]fail[/red]"


@app.command("list")
def list_models(
    strategy: Annotated[str | None, typer.Argument(help="Only this strategy.")] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """List registered models; the promoted (live) version of each strategy is starred."""
    with exit_on_error():
        if not registry.is_dir():
            _out.print(f"no models registered (no registry at {registry})")
            return
        models = _open(registry).list(strategy)
        table = Table(title=f"models in {registry}", box=box.SIMPLE_HEAD, collapse_padding=True)
        table.add_column("strategy", overflow="fold")
        for col in ("version", "live", "created", "sharpe", "max dd %", "trades", "gates"):
            table.add_column(col, no_wrap=True)
        for m in models:
            table.add_row(
                m.strategy,
                m.version,
                "[bold green]★[/bold green]" if m.promoted_at else "",
                m.created_at.strftime("%Y-%m-%d"),
                _metric(m, "sharpe", ".2f"),
                _metric(m, "max_drawdown_pct", ".2f"),
                _metric(m, "n_trades", "d"),
                _gates(m),
            )
        _out.print(table)


@app.command()
def show(
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    version: Annotated[str | None, typer.Argument(help="Version (default: promoted, else latest).")] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Show one model's lineage, metrics, gates and the strategy's promotion history."""
    with exit_on_error():
        reg = _open(registry)
        model = reg.get(strategy, version) if version else (reg.promoted(strategy) or reg.latest(strategy))
        if model is None:
            raise ModelNotFound(f"no models registered for {strategy}")
        info = Table(title=f"{model.strategy} {model.version}", show_header=False)
        info.add_column("field", style="bold")
        info.add_column("value", overflow="fold")
        rows: list[tuple[str, Any]] = [
            ("promoted at", model.promoted_at.isoformat() if model.promoted_at else "not promoted"),
            ("created at", model.created_at.isoformat()),
            ("code version", model.code_version),
            ("data window", f"{model.data_window[0].isoformat()} → {model.data_window[1].isoformat()}"),
            ("features", f"{len(model.features)}: {', '.join(model.features)}"),
            ("feature hash", model.feature_hash),
            ("params", json.dumps(model.params, sort_keys=True)),
            ("artifact", str(model.artifact_path)),
            ("sha256", model.artifact_sha256),
        ]
        rows += [(f"metric {k}", v) for k, v in sorted(model.metrics.items())]
        for field, value in rows:
            info.add_row(field, str(value))
        _out.print(info)
        if model.gate_report is not None:
            gates = Table(title=f"gates: {_gates(model)}")
            for col in ("gate", "op", "threshold", "value", "passed"):
                gates.add_column(col)
            for g in model.gate_report.get("gates", []):
                mark = "[green]yes[/green]" if g.get("passed") else "[red]no[/red]"
                gates.add_row(
                    str(g.get("name")), str(g.get("op")), str(g.get("threshold")), str(g.get("value")), mark
                )
            _out.print(gates)
        history = reg.history(strategy)
        if history:
            hist = Table(title="promotion history")
            for col in ("at", "action", "version", "previous"):
                hist.add_column(col)
            for e in history:
                hist.add_row(e.at.isoformat(), e.action, e.version, e.previous or "-")
            _out.print(hist)


@app.command()
def promote(
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    version: Annotated[str, typer.Argument(help="Version to promote, e.g. v0003.")],
    force: Annotated[bool, typer.Option("--force", help="Promote even if its gates failed.")] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Make VERSION the served model of STRATEGY."""
    from cluster.promotion import promote as promote_version

    with exit_on_error():
        reg = _open(registry)
        before = reg.promoted(strategy)
        model, served = promote_version(reg, strategy, version, force=force)
        was = f" (was {before.version})" if before and before.version != model.version else ""
        _out.print(f"[green]promoted[/green] {strategy} {model.version}{was}", highlight=False)
    _report(served)


@app.command()
def rollback(
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Return STRATEGY to the version promoted before the current one."""
    from cluster.promotion import rollback as rollback_version

    with exit_on_error():
        model, served = rollback_version(_open(registry), strategy)
        _out.print(f"[yellow]rolled back[/yellow] {strategy} to {model.version}", highlight=False)
    _report(served)


def _report(served: ServedRefresh) -> None:
    if served.error:
        _out.print(f"[yellow]served models {served.line()}[/yellow]", highlight=False)
    elif served.versions is not None:
        _out.print(f"serving now: {served.line()}", highlight=False)
