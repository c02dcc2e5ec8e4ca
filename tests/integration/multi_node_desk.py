"""The desk on a 3-node local Ray cluster (``python -m tests.integration.multi_node_desk``).

Run by ``test_multi_node`` in a subprocess, so the cluster is this process's own Ray and never
the test session's. Arguments: a work folder and two fresh PostgreSQL database URLs. It replays
the pinned demo session for two accounts three times and prints one JSON line:

* ``baseline``: each account's kernel in this process (``replay_kernel``), SQLite ledger;
* ``cluster``: the desk's actors (``replay_session``), each account on its own worker node by
  the account's ``resources``, one PostgreSQL ledger, one redis-server over TCP;
* ``killed``: the same, with the node of the first account SIGKILLed mid-session and replaced
  by a fresh node offering the same resources (as an autoscaler replaces a lost node): Ray
  restarts the account there, its start-up reconciles, the driver re-sends the step.

Scoring is rules only (no Serve app).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console

from actors import NAMESPACE
from adapters.account.replay import replay_kernel
from adapters.cache import EmbeddedRedis
from adapters.ledger.postgres import open_ledger
from cluster.demo import demo_settings, plan_demo
from cluster.demo_steps import generate_market
from cluster.replay import replay_session
from cluster.supervisor import Desk, Supervisor
from configs import Settings, load_settings
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.model import AccountId

SYMBOLS = ["SYNA", "SYNB", "SYNC", "SYND"]
PLACEMENT = {"intraday": "node_a", "swing": "node_b"}
"""Each account on its own worker node: the node's custom resource, required by the account."""
KILL_AT = 150
"""The minute (step index) before which the first account's node dies."""
SESSION = date(2025, 12, 31)


def main(root: Path, ledger_urls: list[str]) -> dict[str, Any]:
    plan = plan_demo(root / "demo", SYMBOLS, SESSION, seed=7, accounts=tuple(PLACEMENT))
    settings = demo_settings(load_settings(), plan)
    generate_market(plan, settings, Console(quiet=True))
    out: dict[str, Any] = {"baseline": {"accounts": _baseline(settings, root / "baseline")}}
    out.update(_on_the_cluster(settings, root, ledger_urls))
    return out


def _baseline(settings: Settings, root: Path) -> dict[str, Any]:
    """The session on one node: each kernel in this process, a SQLite ledger."""
    ledger = settings.ledger.model_copy(update={"path": root / "ledger.sqlite3"})
    settings = settings.model_copy(update={"ledger": ledger})
    with EmbeddedRedis(root / "redis.rdb") as redis:
        desk = Supervisor(settings, root / "state", accounts=list(PLACEMENT), redis_url=redis.url)
        audits = {}
        for spec in desk.specs():
            audits[spec.account.id] = replay_kernel(spec, [SESSION], schedule=settings.scheduler.schedule())
    return _outcome(settings.ledger.location, {a: vars(x) for a, x in audits.items()})


@dataclass
class _Nodes:
    cluster: Any
    workers: dict[str, Any]


def _on_the_cluster(settings: Settings, root: Path, ledger_urls: list[str]) -> dict[str, Any]:
    import ray
    from ray.cluster_utils import Cluster

    # Node deaths are noticed within ~3 s (default ~30 s): the test stays bounded.
    health = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False, "_system_config": health},
    )
    try:
        nodes = _Nodes(
            cluster, {r: cluster.add_node(num_cpus=1, resources={r: 1}) for r in PLACEMENT.values()}
        )
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="raydesk", log_to_driver=False, configure_logging=False)
        placed = settings.model_copy(
            update={
                "accounts": [
                    a.model_copy(update={"resources": {PLACEMENT[a.id]: 1.0}}) if a.id in PLACEMENT else a
                    for a in settings.accounts
                ]
            }
        )
        clean = _cluster_run(placed, root / "cluster", ledger_urls[0], nodes, kill=False)
        killed = _cluster_run(placed, root / "killed", ledger_urls[1], nodes, kill=True)
        return {"cluster": clean, "killed": killed}
    finally:
        ray.shutdown()
        cluster.shutdown()


def _cluster_run(settings: Settings, root: Path, url: str, nodes: _Nodes, *, kill: bool) -> dict[str, Any]:
    import ray

    ledger = settings.ledger.model_copy(update={"url": SecretStr(url)})
    settings = settings.model_copy(update={"ledger": ledger})
    seen: dict[str, Any] = {"head": nodes.cluster.head_node.node_id, "workers": {}, "killed": None}
    first = next(iter(PLACEMENT))

    def on_step(i: int, at: datetime, desk: Desk) -> None:
        if i == 0:
            seen["placed"] = _where(_handles(desk))
            seen["workers"] = {r: n.node_id for r, n in nodes.workers.items()}
        if kill and i == KILL_AT:
            resource = PLACEMENT[first]
            nodes.cluster.remove_node(nodes.workers[resource], allow_graceful=False)
            nodes.workers[resource] = nodes.cluster.add_node(num_cpus=1, resources={resource: 1})
            seen["killed"] = {"at": at.isoformat(), "replacement": nodes.workers[resource].node_id}

    with EmbeddedRedis(root / "redis.rdb", port=0) as redis:
        supervisor = Supervisor(settings, root / "state", accounts=list(PLACEMENT), redis_url=redis.url)
        result = replay_session(
            settings,
            SESSION,
            state_dir=root / "state",
            accounts=list(PLACEMENT),
            redis_url=redis.url,
            on_step=on_step,
            keep_actors=True,
        )
        try:
            after = _where(
                {f"account:{a}": ray.get_actor(f"account:{a}", namespace=NAMESPACE) for a in PLACEMENT}
            )
        finally:
            supervisor.down(stop_redis=False)
    return {
        "accounts": _outcome(url, {a: vars(x) for a, x in result.accounts.items()}),
        "nodes": seen,
        "after": after,
        "retries": result.retries,
        "redis": redis.url,
    }


def _handles(desk: Desk) -> dict[str, Any]:
    return {**desk.accounts, "market_data": desk.market_data, "scheduler": desk.scheduler}


def _where(handles: dict[str, Any]) -> dict[str, str]:
    """The node each actor runs on, from the GCS's actor table (no dashboard needed)."""
    import ray

    table = ray._private.state.actors()
    return {name: table[h._actor_id.hex()]["Address"]["NodeID"] for name, h in handles.items()}


def _outcome(location: str | Path, audits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per account: the ledger's orders and fills (rows to compare), and the venue's ids."""
    _, close = MarketCalendar().session_open_close(SESSION)
    ledger = open_ledger(location, SimClock(close))
    try:
        accounts = {}
        for account, audit in audits.items():
            orders = sorted(
                [str(o.client_order_id), str(o.instrument.id), o.side.value, _n(o.quantity.value),
                 _n(o.filled_quantity.value), o.status.value]
                for o in ledger.orders(AccountId(account))
            )  # fmt: skip
            fills = sorted(
                [str(f.fill_id), str(f.client_order_id), str(f.instrument.id), f.side.value,
                 _n(f.quantity.value), _n(f.price.value), f.ts.isoformat()]
                for f in ledger.fills(AccountId(account))
            )  # fmt: skip
            accounts[account] = {
                "orders": orders,
                "fills": fills,
                "venue_orders": audit["venue_orders"],
                "venue_fills": audit["venue_fills"],
                "equity": audit["equity"],
                "open_discrepancies": audit["open_discrepancies"],
            }
        return accounts
    finally:
        ledger.close()


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f")


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:4])))
