"""``raydesk tui`` hands its arguments to ``python -m tui``; the options resolve the desk's paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.launch import parser, settings_for


def test_raydesk_tui_passes_every_argument_to_python_m_tui() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from cluster.cli import main; main()", "tui", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.startswith("usage: raydesk tui") and "--redis-url" in out and "--via {auto,redis}" in out


def test_root_points_at_a_demo_folder_and_a_url_wins_over_the_embedded_redis(tmp_path: Path) -> None:
    args = parser().parse_args(
        ["-p", "test", "--root", str(tmp_path), "--redis-url", "redis://127.0.0.1:7000/0"]
    )
    settings, registry = settings_for(args)
    assert settings.ledger.path == tmp_path / "state" / "ledger.sqlite3"
    assert settings.redis.embedded_path == tmp_path / "state" / "redis.db"
    assert settings.redis.url == "redis://127.0.0.1:7000/0"
    assert registry == tmp_path / "models"
