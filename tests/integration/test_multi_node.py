"""The desk on three Ray nodes trades like on one, and loses nothing when a worker node dies.

``multi_node_desk`` (a subprocess: its own ``ray.cluster_utils.Cluster``, never the session's
Ray) replays the pinned demo session (4 symbols, the intraday and swing accounts, rules only)
once per account in process with SQLite, then through the desk's actors on a head and two
worker nodes, each account on its own worker by its ``resources``, sharing one PostgreSQL ledger
and one redis-server over TCP; then again with the intraday account's node SIGKILLed mid-session
and replaced. Every run must give the same orders and fills, row by row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.multi_node_desk import PLACEMENT

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_accounts_on_two_nodes_share_postgres_and_redis_and_survive_a_node_kill(
    postgres_server: Any, tmp_path: Path
) -> None:
    urls = [postgres_server.new_database(), postgres_server.new_database()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # nothing of another Ray
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.multi_node_desk", str(tmp_path), *urls],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    baseline, clean, killed = runs["baseline"]["accounts"], runs["cluster"], runs["killed"]
    assert baseline["intraday"]["fills"], "the intraday account traded nothing: the comparison is empty"

    for run in (clean, killed):
        nodes = run["nodes"]
        placed = nodes["placed"]
        # Each account on its own worker; market data and the scheduler on the head.
        assert placed["account:intraday"] == nodes["workers"][PLACEMENT["intraday"]]
        assert placed["account:swing"] == nodes["workers"][PLACEMENT["swing"]]
        assert placed["market_data"] == placed["scheduler"] == nodes["head"]
        assert run["redis"].startswith("redis://127.0.0.1:")
        for account, expected in baseline.items():
            got = run["accounts"][account]
            assert got["orders"] == expected["orders"], account
            assert got["fills"] == expected["fills"], account
            assert got["equity"] == expected["equity"], account
            # The venue's view: every order once, every fill in the shared ledger.
            assert len(set(got["venue_orders"])) == len(got["venue_orders"]) == len(expected["orders"])
            assert sorted(f[0] for f in got["fills"]) == sorted(got["venue_fills"]), f"{account}: lost fills"
            assert got["open_discrepancies"] == 0

    assert clean["retries"] == 0 and clean["nodes"]["killed"] is None
    # The node died mid-session (fills before and after it) and Ray restarted the account on the
    # node that replaced it; the other account stayed where it was.
    lost = killed["nodes"]["killed"]
    assert lost is not None
    fill_times = [datetime.fromisoformat(f[-1]) for f in killed["accounts"]["intraday"]["fills"]]
    assert min(fill_times) < datetime.fromisoformat(lost["at"]) < max(fill_times)
    assert killed["after"]["account:intraday"] == lost["replacement"]
    assert lost["replacement"] != killed["nodes"]["placed"]["account:intraday"]
    assert killed["after"]["account:swing"] == killed["nodes"]["placed"]["account:swing"]
