"""``raydesk train`` and ``raydesk demo`` submitted with ``ray job submit --working-dir .`` to a
separate local cluster.

The cluster is started with ``ray start --head --block`` in its own process group and torn down
by signalling that group only: ``ray stop`` would kill every Ray process on the machine,
including the test session's and other users' clusters.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # A throw-away cluster on loopback: no token, so the job CLI needs no credentials.
    env["RAY_AUTH_MODE"] = "disabled"
    return env


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    dash = _free_port()
    temp = tempfile.mkdtemp(prefix="rdjob", dir="/tmp")
    ports = {
        "--port": _free_port(),
        "--dashboard-port": dash,
        "--node-manager-port": _free_port(),
        "--object-manager-port": _free_port(),
        "--ray-client-server-port": _free_port(),
        "--dashboard-agent-listen-port": _free_port(),
        "--dashboard-agent-grpc-port": _free_port(),
        "--metrics-export-port": _free_port(),
        "--runtime-env-agent-port": _free_port(),
    }
    cmd = [str(BIN / "ray"), "start", "--head", "--block", "--num-cpus=2", "--include-dashboard=true"]
    cmd += ["--dashboard-host=127.0.0.1", f"--temp-dir={temp}", "--disable-usage-stats"]
    cmd += [f"{k}={v}" for k, v in ports.items()]
    log = Path(temp) / "ray_start.log"
    with log.open("wb") as out:
        head = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 90
        while not _up(f"{address}/api/version"):
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the Ray dashboard did not start: {log.read_text()[-1500:]}")
            time.sleep(1)
        yield address
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            try:
                head.wait(timeout=8)
                time.sleep(2)  # let the group's children exit before the hard kill
            except subprocess.TimeoutExpired:
                continue


def _train_command() -> list[str]:
    from cluster.cli.main import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "train" in names:
        return ["raydesk", "train"]
    # Until the lead registers the command in cluster/cli/main.py: the same function as a module.
    return ["python", "-m", "cluster.cli.train_cmd"]


@pytest.mark.slow
def test_train_runs_as_a_ray_job(cluster: str, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    args = [
        "--strategy=intraday_mean_reversion",
        "--symbols=SYNA,SYNB",
        "--start=2025-01-02",
        "--end=2025-02-14",
        "--num-samples=2",
        "--folds=2",
        "--train-sessions=10",
        "--test-sessions=4",
        "--seed=1",
        "--synthetic",
        f"--registry={registry}",
        f"--tune-dir={tmp_path / 'tune'}",
    ]
    submit = [str(BIN / "ray"), "job", "submit", "--address", cluster, "--working-dir", "."]
    done = subprocess.run(
        [*submit, "--", *_train_command(), *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "ray: cluster" in output
    assert "promotion gates" in output
    index = json.loads((registry / "index.json").read_text())
    assert index["strategies"]["intraday_mean_reversion"]["last_version"] == 1


@pytest.mark.slow
def test_demo_runs_as_a_ray_job(cluster: str, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    env = json.dumps({"env_vars": {"RAYDESK_SERVE__PORT": str(_free_port())}})
    args = ["--symbols=SYNA,SYNB,SYNC", "--num-samples=2", f"--root={root}"]
    submit = [str(BIN / "ray"), "job", "submit", "--address", cluster, "--working-dir", "."]
    done = subprocess.run(
        [*submit, "--runtime-env-json", env, "--", "raydesk", "demo", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    summary = json.loads((root / "reports" / "demo_20251231" / "summary.json").read_text())
    assert set(summary["accounts"]) == {"intraday", "swing", "options"}
    assert all(a["lost_fills"] == 0 and a["unknown_orders"] == 0 for a in summary["accounts"].values())
    assert (root / "reports" / "demo_20251231" / "equity.png").stat().st_size > 0
