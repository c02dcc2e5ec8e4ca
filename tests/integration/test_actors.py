"""The desk's actors on the session's local Ray: a replayed session end to end, and overrides.

A synthetic market (3 symbols, the early-close session of 2024-11-29 after a week of history)
is replayed through two simulated accounts (``sma_cross`` and ``intraday_mean_reversion``), a
market-data actor and the scheduler. Checks: the named actors are visible, orders were sent
and filled, every venue fill is in the ledger, ledger positions equal the venue's, the
flatten passes ran; and pause / halt / resume-all / flatten overrides sent during the session
take effect and are recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from actors import NAMESPACE, account_actor_name
from adapters.cache import EmbeddedRedis
from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SessionGrid, SyntheticMarketConfig, daily_bars, simulate_symbol
from adapters.store import BarStore
from cluster.replay import ReplayResult, replay_session
from configs import Settings, load_settings
from core.model import AccountId

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]

SYMBOLS = ("SYNA", "SYNB", "SYNC")
SESSION = date(2024, 11, 29)  # an early close: 210 minutes
HISTORY_START = date(2024, 11, 20)
RISK = {"max_risk_per_trade": "1000", "max_exposure_per_symbol": "50000"}
ACCOUNTS = [
    {"id": "alpha", "broker": "sim", "strategies": ["sma_cross"], "risk": RISK},
    {"id": "beta", "broker": "sim", "strategies": ["intraday_mean_reversion"], "risk": RISK},
]


@dataclass
class Env:
    root: Path
    settings: Settings
    redis: EmbeddedRedis

    def replay(self, name: str, **kwargs: Any) -> ReplayResult:
        """Replay the session into a fresh ledger and venue state under ``root/name``."""
        settings = desk_settings(self.root / "data", self.root / name / "ledger.sqlite3")
        self.redis.start()
        self.redis_flush()
        return replay_session(
            settings, SESSION, state_dir=self.root / name / "state", redis_url=self.redis.url, **kwargs
        )

    def redis_flush(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            client.flushall()
        finally:
            client.close()

    def ledger(self, name: str) -> SqliteLedger:
        return SqliteLedger(self.root / name / "ledger.sqlite3")


def desk_settings(data_dir: Path, ledger_path: Path) -> Settings:
    return load_settings(
        "test",
        env={},
        overrides={
            "data": {
                "data_dir": str(data_dir),
                "symbols": list(SYMBOLS),
                "start": str(HISTORY_START),
                "end": str(SESSION),
            },
            "ledger": {"path": str(ledger_path)},
            "accounts": ACCOUNTS,
        },
    )


def write_market(data_dir: Path) -> None:
    store = BarStore(data_dir)
    config = SyntheticMarketConfig(seed=7, symbols=SYMBOLS, start=HISTORY_START, end=SESSION)
    grid = SessionGrid.build(config.start, config.end)
    for symbol in SYMBOLS:
        minute = simulate_symbol(config, symbol, grid).bars
        store.write(minute, "1m")
        store.write(daily_bars(minute), "1d")


def kill_desk_actors(ray: Any) -> None:
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] == NAMESPACE:
            with contextlib.suppress(ValueError):
                ray.kill(ray.get_actor(entry["name"], namespace=NAMESPACE), no_restart=True)


def make_env(tmp_path_factory: pytest.TempPathFactory, ray: Any) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("desk")
    write_market(root / "data")
    redis = EmbeddedRedis(root / "redis" / "r.rdb", port=0).start()
    try:
        yield Env(root, desk_settings(root / "data", root / "ledger.sqlite3"), redis)
    finally:
        kill_desk_actors(ray)
        redis.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, ray_session: Any) -> Iterator[Env]:
    yield from make_env(tmp_path_factory, ray_session)


def assert_consistent(result: ReplayResult) -> None:
    """No lost fill, no order the ledger does not know, positions equal, nothing unresolved."""
    for name, account in result.accounts.items():
        assert account.lost_fills == [], name
        assert account.unknown_orders == [], name
        assert sorted(account.ledger_fills) == sorted(account.venue_fills), name
        assert account.ledger_positions == account.venue_positions, name
        assert account.open_discrepancies == 0, name
        assert "pending" not in account.ledger_orders.values(), name


DESK_TASKS = {"labels.complete", "health.check", "report.daily"}


def test_replayed_session_end_to_end(env: Env, ray_session: Any) -> None:
    result = env.replay("clean", keep_actors=True)
    try:
        named = {(n["namespace"], n["name"]) for n in ray_session.util.list_named_actors(all_namespaces=True)}
        expected = {account_actor_name("alpha"), account_actor_name("beta"), "market-data:store", "scheduler"}
        assert {(NAMESPACE, n) for n in expected} <= named
    finally:
        kill_desk_actors(ray_session)
    assert result.steps == 210 and result.retries == 0
    assert_consistent(result)
    for name, account in result.accounts.items():
        assert len(account.venue_orders) >= 3, name
        assert len(account.venue_fills) >= 2, name
        assert account.venue_positions == {}, f"{name} was flattened before the close"
    flattens = [r for r in result.task_runs if r.task.startswith("flatten")]
    assert [r.status for r in flattens] == ["ok", "ok"]
    # After the close the desk tasks run too: labels, the health check and the daily report.
    desk = {r.task: r for r in result.task_runs if r.task in DESK_TASKS}
    assert set(desk) == DESK_TASKS, result.task_runs
    assert all(r.status == "ok" for r in desk.values()), desk
    assert result.wall_s < 60


def test_overrides_take_effect_and_are_recorded(env: Env, ray_session: Any) -> None:
    from actors.overrides import command, send
    from cluster.cli.halt_cmd import broadcast

    settings = desk_settings(env.root / "data", env.root / "overrides" / "ledger.sqlite3")
    seen: dict[str, Any] = {}

    def on_step(i: int, at: datetime, desk: Any) -> None:
        if i == 20:
            seen["pause"] = send(settings, "alpha", command("pause", "test", "pause from the test"))
        elif i == 40:
            seen["paused_state"] = ray_session.get(desk.accounts[account_actor_name("alpha")].state.remote())
        elif i == 60:
            seen["halt"] = broadcast(settings, "halt", "desk halt from the test", by="test")
        elif i == 80:
            seen["resume"] = broadcast(settings, "resume_all", "over", by="test")
        elif i == 150:
            seen["flatten"] = send(settings, "beta", command("flatten", "test", "manual flatten"))

    result = env.replay("overrides", on_step=on_step)
    assert_consistent(result)
    assert seen["pause"].how == "applied"
    assert all(d.how == "applied" for d in seen["halt"] + seen["resume"])
    assert seen["flatten"].how == "applied"
    control = seen["paused_state"]
    assert "paused" in str(control).lower()
    with env.ledger("overrides") as ledger:
        for account, expected in (
            ("alpha", ["pause", "halt", "resume_all"]),
            ("beta", ["halt", "resume_all", "flatten"]),
        ):
            overrides = ledger.events(account_id=AccountId(account), kind="override")
            commands = [str(e.payload["cmd"]) for e in overrides]
            assert commands == expected, (account, [e.payload for e in overrides])
