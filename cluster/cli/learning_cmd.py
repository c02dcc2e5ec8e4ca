"""``raydesk learning``: export the trade snapshots for learning and check their coverage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from adapters.ledger import SqliteLedger
from cluster.cli.errors import exit_on_error
from core.clock import LiveClock
from core.errors import ConfigError
from core.learning import LearningStats, export, stats, write

app = typer.Typer(
    help="Learning data: export entry/daily/exit trade snapshots and report their coverage.",
    no_args_is_help=True,
)

LedgerOption = Annotated[
    Path | None,
    typer.Option("--ledger", help="SQLite ledger file (default: the settings' ledger.path)."),
]
AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account.")]

_out = Console()


def _ledger_path(ledger: Path | None) -> Path:
    if ledger is not None:
        return ledger
    from configs import load_settings

    return load_settings().ledger.path


@contextmanager
def _open(ledger: Path | None) -> Iterator[SqliteLedger]:
    path = _ledger_path(ledger)
    # Never create an empty ledger as a side effect of a typo in --ledger.
    if not path.is_file():
        raise ConfigError(f"no ledger at {path}")
    opened = SqliteLedger(path, LiveClock())
    try:
        yield opened
    finally:
        opened.close()


@app.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Target file: .parquet, .pq or .csv.")],
    account: AccountOption = None,
    ledger: LedgerOption = None,
) -> None:
    """Write one row per trade (entry → daily aggregates → exit) to OUTPUT."""
    with exit_on_error(), _open(ledger) as opened:
        frame = export(opened, account)
        path = write(frame, output)
        complete = int(frame.get_column("is_complete").sum()) if frame.height else 0
        _out.print(f"wrote {frame.height} trades ({complete} complete) to {path}", highlight=False)


def _group_table(result: LearningStats) -> Table:
    table = Table(title="coverage per group", box=box.SIMPLE_HEAD, collapse_padding=True)
    for col in ("snapshot", "group", "coverage", "present/applicable"):
        table.add_column(col, no_wrap=True)
    for g in result.groups:
        shown = "-" if g.coverage is None else f"{g.coverage:.0%}"
        style = "yellow" if g.coverage is not None and g.coverage < result.threshold else None
        table.add_row(g.snapshot.value, g.group, shown, f"{g.present}/{g.applicable}", style=style)
    return table


def _coverage_table(result: LearningStats) -> Table:
    table = Table(title="field coverage", box=box.SIMPLE_HEAD, collapse_padding=True)
    for col in ("snapshot", "field", "coverage", "present/applicable"):
        table.add_column(col, no_wrap=True)
    for c in result.coverage:
        if c.coverage is None:
            table.add_row(c.snapshot.value, c.name, "-", "0/0", style="dim")
            continue
        style = "yellow" if c.below(result.threshold) else None
        table.add_row(
            c.snapshot.value, c.name, f"{c.coverage:.0%}", f"{c.present}/{c.applicable}", style=style
        )
    return table


@app.command("stats")
def stats_cmd(
    account: AccountOption = None,
    ledger: LedgerOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a field is below 80%.")] = False,
) -> None:
    """Snapshot counts, complete vs open trades, and coverage per field (yellow below 80%)."""
    with exit_on_error(), _open(ledger) as opened:
        result = stats(opened, account)
    _out.print(
        f"snapshots: {result.entry_snapshots} entry, {result.daily_snapshots} daily,"
        f" {result.exit_snapshots} exit; trades: {result.trades}"
        f" ({result.complete} complete, {result.open} open)"
        + (f"; {result.orphan_exits} exits without an entry" if result.orphan_exits else ""),
        highlight=False,
    )
    _out.print(_group_table(result))
    _out.print(_coverage_table(result))
    for warning in result.warnings:
        _out.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if strict and result.warnings:
        raise typer.Exit(1)


@app.command("snapshot-positions")
def snapshot_positions_cmd(ledger: LedgerOption = None) -> None:
    """Take today's daily snapshot of every open trade now (once per trade and session)."""
    from cluster.cli.health_cmd import quote_cache
    from cluster.snapshot_positions import snapshot_positions
    from configs import load_settings

    with exit_on_error():
        settings = load_settings()
        with _open(ledger) as opened:
            written = snapshot_positions(settings, opened, LiveClock(), quote_cache(settings))
    for account, count in written.items():
        _out.print(f"{account}: {count} daily snapshot(s) written", highlight=False)
