"""Connecting to Ray: the desk's one way, ``actors.runtime.connect`` (re-exported for the CLI)."""

from actors.runtime import attach, connect, dashboard_url, is_connected

__all__ = ["attach", "connect", "dashboard_url", "is_connected"]
