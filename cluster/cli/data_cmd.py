"""``raydesk data``: generate the synthetic market, import bars, and show what is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.store import BarImportError, BarStore, import_bars
from cluster.synthetic import synthetic_config, write_synthetic
from core.errors import ConfigError, DataError, TemporaryError

__all__ = ["app", "default_data_dir"]

app = typer.Typer(
    help="Market data: generate synthetic bars, import your own, inspect the store.", no_args_is_help=True
)

_FALLBACK_DIR = Path("var/data")
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", help="Store root (default: settings data.data_dir, else ./var/data)."),
]


def _settings() -> Any | None:
    """The loaded settings, or None when the configs package is unavailable.

    The only place this module touches ``configs``; a configuration error is reported, not hidden.
    """
    try:
        from configs import load_settings
    except ImportError:
        return None
    return load_settings()


def default_data_dir() -> Path:
    """``data.data_dir`` from the settings, else ``./var/data``."""
    settings = _settings()
    return Path(settings.data.data_dir) if settings is not None else _FALLBACK_DIR


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code=code)


@app.command("generate")
def generate(
    symbols: Annotated[
        str | None, typer.Option("--symbols", "-s", help="Comma-separated tickers, or a count (e.g. 5).")
    ] = None,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First session.")] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last session.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic market.")] = None,
    no_edge: Annotated[bool, typer.Option("--no-edge", help="Pure noise: no planted edges.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Generate synthetic 1-minute and daily bars into the store (idempotent)."""
    try:
        settings = _settings()
        config = synthetic_config(
            settings, symbols, start.date() if start else None, end.date() if end else None, seed, no_edge
        )
        root = data_dir or (Path(settings.data.data_dir) if settings is not None else _FALLBACK_DIR)
        write_synthetic(config, BarStore(root), Console())
    except (ConfigError, DataError, ValueError) as exc:
        raise _fail(str(exc), 2) from None


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="CSV or parquet file of bars.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="1m, 5m, 15m, 30m, 1h or 1d.")] = "1m",
    symbol: Annotated[str | None, typer.Option(help="Symbol of every row (when the file has none).")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="Rename a column: SRC=DST (repeatable; =ts names the unnamed first column).")
    ] = None,
    tz: Annotated[str, typer.Option(help="Time zone of timestamps without an offset.")] = "UTC",
    data_dir: DataDirOption = None,
) -> None:
    """Import bars; every row is checked first and bad rows are listed by line number."""
    column_map: dict[str, str] = {}
    for item in mapping or []:
        src, sep, dst = item.partition("=")
        if not sep or not dst:  # an empty SRC is the unnamed (pandas index) column
            raise _fail(f"--map expects SRC=DST, got {item!r}", 2)
        column_map[src] = dst
    try:
        store = BarStore(data_dir or default_data_dir())
        report = import_bars(path, store, timeframe, column_map or None, symbol, tz)
    except (BarImportError, DataError, ConfigError) as exc:
        raise _fail(str(exc)) from None
    Console().print(
        f"imported {report.rows:,} {timeframe} bars of {', '.join(report.symbols) or '-'} "
        f"({report.first} to {report.last}) into {store.root}"
        + (f"; ignored columns: {', '.join(report.ignored_columns)}" if report.ignored_columns else "")
    )


@app.command("fetch")
def fetch(
    source: Annotated[str, typer.Option("--source", help="Where the bars come from: alpaca.")],
    symbols: Annotated[str, typer.Option("--symbols", "-s", help="Comma-separated tickers.")],
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (UTC).")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day after the last (UTC).")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="1m, 5m, 15m, 30m, 1h or 1d.")] = "1m",
    data_dir: DataDirOption = None,
) -> None:
    """Download bars from a broker's market-data API into the store (re-running is harmless)."""
    if source != "alpaca":
        raise _fail(f"--source: unknown {source!r} (have alpaca)", 2)
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    try:
        from adapters.brokers.alpaca.fetch import fetch_bars
        from configs.accounts import AlpacaCredentials

        settings = _settings()
        credentials = settings.credentials.alpaca if settings is not None else AlpacaCredentials()
        store = BarStore(data_dir or default_data_dir())
        first, after = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        report = fetch_bars(credentials, store, names, timeframe, first, after)
    except (ConfigError, DataError, TemporaryError) as exc:
        raise _fail(str(exc)) from None
    Console().print(
        f"fetched {report.rows:,} {timeframe} bars of {', '.join(report.symbols) or '-'} "
        f"({_fmt(report.first)} to {_fmt(report.last)}) from {source} into {store.root}"
    )


@app.command("info")
def info(data_dir: DataDirOption = None) -> None:
    """Show what the store holds: rows and time span per timeframe and symbol."""
    try:
        store = BarStore(data_dir or default_data_dir())
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    parts = store.info()
    console = Console()
    if not parts:
        console.print(f"no bars under {store.root}")
        return
    table = Table(title=f"bars in {store.root}")
    for name, justify in (
        ("timeframe", "left"),
        ("symbol", "left"),
        ("rows", "right"),
        ("first", "left"),
        ("last", "left"),
        ("size", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in parts:
        table.add_row(
            p.timeframe, p.symbol, f"{p.rows:,}", _fmt(p.first), _fmt(p.last), f"{p.bytes / 1e6:.1f} MB"
        )
    console.print(table)


def _fmt(ts: datetime | None) -> str:
    return "-" if ts is None else f"{ts:%Y-%m-%d %H:%M}"


@app.command("import-earnings")
def import_earnings_cmd(
    path: Annotated[
        Path, typer.Argument(help="CSV of earnings dates: a symbol and a date (YYYY-MM-DD) column.")
    ],
    symbol_column: Annotated[
        str | None, typer.Option(help="Column of the symbols (default: 'symbol').")
    ] = None,
    date_column: Annotated[
        str | None, typer.Option(help="Column of the report dates (default: 'date').")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import earnings dates: symbols take no new entry within data.earnings_blackout_sessions of them."""
    from adapters.store.earnings import import_earnings

    try:
        report = import_earnings(path, data_dir or default_data_dir(), symbol_column, date_column)
    except DataError as exc:
        raise _fail(str(exc)) from None
    Console().print(
        f"imported {report.rows:,} earnings date(s) of {', '.join(report.symbols) or '-'}; "
        f"{report.stored:,} stored"
    )
