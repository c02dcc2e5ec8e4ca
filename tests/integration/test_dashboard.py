"""The desk's Ray starts with its dashboard on loopback, and the dashboard lists the named actors.

Runs in a subprocess: the test session's own Ray has no dashboard (2 cores), this one does.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, time
from actors import NAMESPACE, account_actor_name
from cluster.runtime import connect, dashboard_url

ray = connect(include_dashboard=True, local_only=True, num_cpus=1)

@ray.remote(num_cpus=0)
class Probe:
    def ping(self):
        return "pong"

probe = Probe.options(name=account_actor_name("probe"), namespace=NAMESPACE).remote()
ray.get(probe.ping.remote())
from ray.util.state import list_actors
names = []
for _ in range(60):
    try:
        alive = list_actors(address=dashboard_url(), filters=[("state", "=", "ALIVE")])
        names = [[a.name, a.ray_namespace] for a in alive]
        break
    except Exception:
        time.sleep(1)
print(json.dumps({"url": dashboard_url(), "actors": names}))
ray.shutdown()
"""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_the_dashboard_binds_to_loopback_and_lists_the_named_actors() -> None:
    if not _port_free(8265):
        pytest.skip("port 8265 is taken by another Ray dashboard on this machine")
    # Its own Ray: nothing of the test session's Ray (RAY_ADDRESS and the like) may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["url"].startswith("http://127.0.0.1:")
    assert ["account:probe", "raydesk"] in result["actors"]
