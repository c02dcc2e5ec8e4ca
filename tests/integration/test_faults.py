"""Faults during a replayed session: killed account processes, Serve down, Redis restarted.

* An account process exits right after the venue acknowledged its 3rd order (the ledger still
  says PENDING), another is killed with ``ray.kill(no_restart=False)`` between steps and in the
  middle of one, and the scoring endpoint is unreachable throughout. Ray restarts the actors,
  their start-up reconciles, the driver re-sends the interrupted step, and the session ends
  exactly as an undisturbed one: the same venue orders (no duplicate, none missing), every
  venue fill in the ledger, ledger positions equal to the venue's, the same equity; the scorer
  outage is recorded as rule fallbacks.
* Redis is killed (no save) mid-session and restarted 30 minutes later: orders are refused
  with ``stale_quote`` meanwhile, trading resumes once quotes return, nothing is lost.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from actors import account_actor_name
from core.model import AccountId
from tests.integration.test_actors import Env, assert_consistent, make_env

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, ray_session: Any) -> Iterator[Env]:
    yield from make_env(tmp_path_factory, ray_session)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_killed_accounts_recover_without_duplicates_or_lost_fills(env: Env, ray_session: Any) -> None:
    reference = env.replay("reference")
    pids: dict[str, set[int]] = {"alpha": set(), "beta": set()}

    def on_step(i: int, at: datetime, desk: Any) -> None:
        beta = desk.accounts[account_actor_name("beta")]
        if i % 10 == 0:
            for name, handle in desk.accounts.items():
                pids[name.split(":")[1]].add(ray_session.get(handle.health.remote()).pid)
        if i == 50:
            ray_session.kill(beta, no_restart=False)  # between two steps
        if i == 120:
            # lands while the step is being processed (or just before: both must be survived)
            threading.Timer(0.01, ray_session.kill, args=(beta,), kwargs={"no_restart": False}).start()

    faulty = env.replay(
        "faults",
        crash_after_submits={"alpha": 3},
        scorer=f"http://127.0.0.1:{_closed_port()}",
        on_step=on_step,
    )
    assert faulty.retries >= 2
    assert len(pids["alpha"]) >= 2, "alpha's process exited after its 3rd order and was restarted"
    assert len(pids["beta"]) >= 3, "beta was killed twice and restarted each time"
    assert_consistent(faulty)
    for name, ref in reference.accounts.items():
        got = faulty.accounts[name]
        assert got.venue_orders == ref.venue_orders, f"{name}: same orders as the undisturbed run"
        assert len(got.venue_fills) == len(ref.venue_fills), name
        assert got.equity == ref.equity, name
    with env.ledger("faults") as ledger:
        for account in ("alpha", "beta"):
            fallbacks = ledger.events(account_id=AccountId(account), kind="trading.score_fallback")
            assert fallbacks, f"{account}: the scorer outage is recorded as rule fallbacks"
            recoveries = ledger.events(account_id=AccountId(account), kind="trading.recovered")
            assert len(recoveries) >= 2, f"{account}: every restart ran recovery"


def test_redis_restart_rejects_stale_quotes_then_trading_resumes(env: Env) -> None:
    marks: dict[str, datetime] = {}

    def on_step(i: int, at: datetime, desk: Any) -> None:
        if i == 70:
            env.redis.kill()
            marks["down"] = at
        elif i == 100:
            env.redis.start()
            marks["up"] = at

    result = env.replay("redis", on_step=on_step)
    assert_consistent(result)
    denials = sum(a.denials["stale_quote"] for a in result.accounts.values())
    assert denials > 0, "no order was priced on missing quotes while Redis was down"
    with env.ledger("redis") as ledger:
        after = [
            o
            for account in ("alpha", "beta")
            for o in ledger.orders(AccountId(account))
            if o.created_at > marks["up"]
        ]
    assert after, "trading resumed once quotes came back"
