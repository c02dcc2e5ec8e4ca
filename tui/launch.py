"""Starting the TUI from the command line: ``python -m tui`` and ``raydesk tui`` share these options."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from configs import Settings, load_settings
from core.errors import ConfigError

DEFAULT_REGISTRY = Path("var/models")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="raydesk tui",
        description="Watch the desk and act on it from the terminal. The TUI is a client: it reads "
        "Redis (account states, events), the ledger (read-only) and the model registry, and sends "
        "overrides the way the CLI does.",
    )
    p.add_argument("-p", "--profile", help="Settings profile (default: RAYDESK_PROFILE, else default).")
    p.add_argument("--live", action="store_true", help="Allow a profile with live-money accounts.")
    p.add_argument("--redis-url", help="The desk's Redis by URL (a cluster's); default: the settings'.")
    p.add_argument("--ledger", type=Path, help="The ledger file (default: the settings').")
    p.add_argument("--registry", type=Path, help=f"The model registry (default: {DEFAULT_REGISTRY}).")
    p.add_argument(
        "--root",
        type=Path,
        help="A desk folder laid out like the demo's: ROOT/state/{ledger.sqlite3,redis.db}, ROOT/models.",
    )
    p.add_argument(
        "--via",
        choices=("auto", "redis"),
        default="auto",
        help="auto: like the CLI (the running actor through Ray, else the Redis inbox); "
        "redis: always the Redis inbox (the account applies it at its next cycle).",
    )
    p.add_argument("--interval", type=float, default=1.0, help="Seconds between polls (default 1).")
    p.add_argument("--fake", action="store_true", help="Pinned example data, no desk (to try the UI).")
    return p


def settings_for(args: argparse.Namespace) -> tuple[Settings, Path]:
    """The settings with the command line's paths applied, and the registry folder."""
    settings = load_settings(args.profile, allow_live=args.live)
    ledger, redis, registry = settings.ledger, settings.redis, args.registry or DEFAULT_REGISTRY
    if args.root is not None:
        ledger = ledger.model_copy(update={"path": args.root / "state" / "ledger.sqlite3"})
        redis = redis.model_copy(update={"embedded_path": args.root / "state" / "redis.db"})
        registry = args.registry or args.root / "models"
    if args.ledger is not None:
        ledger = ledger.model_copy(update={"path": args.ledger})
    url = args.redis_url or os.environ.get("RAYDESK_REDIS_URL")
    if url:
        redis = redis.model_copy(update={"url": url})
    return settings.model_copy(update={"ledger": ledger, "redis": redis}), Path(registry)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.interval <= 0:
        parser().error("--interval must be positive")
    from tui.app import DeskApp
    from tui.client import DeskClient

    client: DeskClient
    if args.fake:
        from tui.fake import FakeDeskClient

        client = FakeDeskClient()
    else:
        from tui.desk_client import RedisDeskClient

        try:
            settings, registry = settings_for(args)
        except ConfigError as exc:
            print(f"raydesk tui: {exc}")
            return 2
        client = RedisDeskClient(settings, registry, attach_ray=args.via == "auto")
    DeskApp(client, interval=args.interval).run()
    return 0
