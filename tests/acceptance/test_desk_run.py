"""``raydesk run`` on a fresh folder starts a desk of simulated accounts and returns; ``status``
lists it; ``stop`` ends it; a failed start ends what it began. Nothing the desk started (its own
Ray head, Redis) is left running. The CLI runs as a user runs it, in a fresh working folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from adapters.ledger import SqliteLedger
from cluster.desk_host import DeskHost, desk_processes

pytestmark = pytest.mark.slow

RAYDESK = str(Path(sys.executable).parent / "raydesk")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "RAYDESK_"))}
    # A small synthetic market: the desk generates it through today + 10 days at its first start.
    env.update(RAYDESK_DATA__START="2026-11-02", RAYDESK_DATA__END="2026-11-30")
    env["RAYDESK_DATA__SYMBOLS"] = '["SYNA","SYNB"]'
    return env


def _cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAYDESK, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _orphan_redis() -> set[int]:
    return {
        p.pid
        for p in psutil.process_iter(["name", "ppid"])
        if p.info["name"] == "redis-server" and p.info["ppid"] == 1
    }


def test_run_status_stop_on_a_fresh_folder(tmp_path: Path) -> None:
    host = DeskHost(tmp_path / "var" / "state")
    orphans = _orphan_redis()
    try:
        started = _cli(tmp_path, "run")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "desk up at 127.0.0.1:" in started.stdout
        record = json.loads(host.record_path.read_text())
        assert record["redis_pid"] and psutil.pid_exists(record["redis_pid"])
        assert desk_processes(host.temp_dir), "the desk runs after run returned"

        again = _cli(tmp_path, "run")
        assert again.returncode == 0 and "attached" in again.stdout, again.stdout + again.stderr

        status = _cli(tmp_path, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        for name in ("account:intraday", "account:swing", "account:options", "scheduler", "desk_driver"):
            assert f"actor {name}: alive" in status.stdout
        assert "account swing: scoring" in status.stdout and "scorer: none (rules only)" in status.stdout
        assert "pre_market.universe" in status.stdout, "the next scheduled tasks"

        ack = _cli(tmp_path, "accounts", "acknowledge", "swing", "--by", "alice", "--why", "fills checked")
        assert ack.returncode == 0 and "swing: applied" in ack.stdout, ack.stdout + ack.stderr
        paused = _cli(tmp_path, "schedule", "pause", "pre_market", "--by", "bob", "--why", "vendor outage")
        assert paused.returncode == 0 and "vendor outage (by bob)" in paused.stdout, (
            paused.stdout + paused.stderr
        )
        resumed = _cli(tmp_path, "schedule", "resume", "pre_market")
        assert resumed.returncode == 0 and "paused: {}" in resumed.stdout, resumed.stdout + resumed.stderr
        flat = _cli(tmp_path, "flatten", "--all")
        assert flat.returncode == 0, flat.stdout + flat.stderr
        for account in ("intraday", "swing", "options"):
            assert f"{account}: entries stopped (applied" in flat.stdout and "flatten applied" in flat.stdout

        stopped = _cli(tmp_path, "stop")
        assert stopped.returncode == 0 and "desk stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        assert not desk_processes(host.temp_dir), "no process of the desk's Ray head is left"
        assert (
            not psutil.pid_exists(record["redis_pid"])
            or psutil.Process(record["redis_pid"]).status() == psutil.STATUS_ZOMBIE
        )
        assert _orphan_redis() <= orphans
        with SqliteLedger(tmp_path / "var" / "ledger.sqlite3") as ledger:
            overrides = [e.payload for e in ledger.events(limit=10_000) if e.kind == "override"]
        assert {"cmd": "acknowledge", "by": "alice", "reason": "fills checked"}.items() <= overrides[
            0
        ].items()
        assert sorted((o["cmd"], o["accepted"]) for o in overrides[1:]) == sorted(
            [("halt", True), ("flatten", True)] * 3
        ), "halt, then flatten, on every account"
    finally:
        left = host.record()
        if left is not None:
            host.stop_processes(left)


def test_a_failed_start_leaves_nothing_running(tmp_path: Path) -> None:
    """The paper profile's broker accounts have no credentials here: the start fails naming one."""
    host = DeskHost(tmp_path / "var" / "state")
    orphans = _orphan_redis()
    try:
        failed = _cli(tmp_path, "run", "--profile", "paper")
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "desk did not start" in failed.stdout, "it fails after its Ray head and Redis started"
        assert not desk_processes(host.temp_dir)
        assert _orphan_redis() <= orphans
        assert host.record() is None
    finally:
        left = host.record()
        if left is not None:
            host.stop_processes(left)
