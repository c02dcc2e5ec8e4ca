"""``raydesk health``: every health check of the desk; exit code 1 when anything fails."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import redis
import typer

from adapters.cache.quotes import RedisQuoteCache
from adapters.cache.redis_conn import client_from_url
from adapters.cache.state import RedisStateBoard
from adapters.ledger import SqliteLedger
from cluster.cli.errors import exit_on_error
from cluster.health import MIN_FREE_BYTES, desk_health
from cluster.tasks.common import DeskPaths
from configs import Settings, load_settings
from core.clock import LiveClock, ensure_utc
from core.errors import ConfigError
from core.ports.cache import QuoteCache

__all__ = ["health", "quote_cache"]


def health(
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="SQLite ledger (default: ledger.path).")
    ] = None,
    root: Annotated[Path, typer.Option("--root", help="Desk root (state/, models/, reports/).")] = Path(),
    at: Annotated[
        str | None,
        typer.Option("--at", help="Check as of this ISO time (default: now), e.g. 2024-03-04T21:45Z."),
    ] = None,
    min_free_gb: Annotated[
        float, typer.Option("--min-free-gb", help="Least free disk space.")
    ] = MIN_FREE_BYTES / 2**30,
) -> None:
    """Failed/missed task runs, broker connectivity, quote and snapshot freshness, positions and
    orphan orders after the close, missing labels, disk space and ledger integrity."""
    with exit_on_error():
        settings = load_settings()
        path = ledger or Path(settings.ledger.path)
        if not path.is_file():
            raise ConfigError(f"no ledger at {path}")
        now = (
            LiveClock().now() if at is None else ensure_utc(datetime.fromisoformat(at.replace("Z", "+00:00")))
        )
        quotes, board = _cache(settings)
        opened = SqliteLedger(path, LiveClock())
        try:
            report = desk_health(
                settings,
                opened,
                path,
                DeskPaths.from_settings(settings, root),
                now,
                quotes=quotes,
                board=board,
                min_free_bytes=int(min_free_gb * 2**30),
            )
        finally:
            opened.close()
    for line in report.lines():
        typer.echo(line)
    if not report.healthy:
        raise typer.Exit(1)


def quote_cache(settings: Settings) -> QuoteCache | None:
    """The desk's quote cache when its Redis (by URL) answers, else None."""
    return _cache(settings)[0]


def _cache(settings: Settings) -> tuple[QuoteCache | None, dict[str, dict[str, Any]] | None]:
    """The quote cache and account states of a reachable Redis given by URL (else none)."""
    if settings.redis.url is None:
        return None, None
    client = client_from_url(settings.redis.url)
    try:
        client.ping()
        board = RedisStateBoard(client)
        states = {a: s for a in board.accounts() if (s := board.get_account_state(a)) is not None}
    except (redis.ConnectionError, redis.TimeoutError):
        return None, None
    return RedisQuoteCache(client, LiveClock()), states
