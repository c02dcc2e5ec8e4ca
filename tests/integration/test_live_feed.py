"""``raydesk run`` on the simulator: the synthetic market published minute by minute on a clock.

The feed is driven with chosen instants (what the real clock would read), on the session's
local Ray, through a real desk of one simulated account: nothing is published before a minute
has closed, each minute exactly once, nothing outside a session, and a feed started mid-session
skips the morning. ``synthetic_through`` extends the store to a later session, once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.store import BarStore
from cluster.live_feed import LiveFeed, synthetic_through
from cluster.supervisor import Supervisor
from core.calendar import MarketCalendar
from core.trading.outcomes import KernelHealth
from tests.integration.test_actors import SESSION, SYMBOLS, Env, make_env

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]

OPEN, _ = MarketCalendar().session_open_close(SESSION)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, ray_session: Any) -> Iterator[Env]:
    yield from make_env(tmp_path_factory, ray_session)


def _desk(env: Env, name: str) -> tuple[Supervisor, Any]:
    supervisor = Supervisor(
        env.settings, env.root / name, start=OPEN, accounts=["beta"], redis_url=env.redis.url
    )
    return supervisor, supervisor.up()


def _events(desk: Any) -> int:
    import ray

    (handle,) = desk.accounts.values()
    health: KernelHealth = ray.get(handle.health.remote())
    return health.events


def test_minutes_are_published_once_each_after_they_close(env: Env) -> None:
    supervisor, desk = _desk(env, "paced")
    try:
        feed = LiveFeed(desk, SYMBOLS)
        assert feed.pump(datetime(2024, 11, 28, 15, tzinfo=OPEN.tzinfo)) == []  # Thanksgiving
        assert feed.session is None
        assert feed.pump(OPEN + timedelta(seconds=30)) == []  # the first minute is still open
        assert feed.session == SESSION and feed.next_due() == OPEN + MINUTE
        (first,) = feed.pump(OPEN + MINUTE)
        assert first.at == OPEN + MINUTE and first.bars == len(SYMBOLS)
        steps = feed.pump(OPEN + 5 * MINUTE + timedelta(seconds=10))
        assert [s.at for s in steps] == [OPEN + k * MINUTE for k in range(2, 6)]
        assert feed.pump(OPEN + 5 * MINUTE + timedelta(seconds=40)) == []  # nothing twice
        assert feed.published == 5
        assert _events(desk) == 5  # the account took each minute
    finally:
        supervisor.down()


def test_a_feed_started_mid_session_skips_the_morning(env: Env) -> None:
    supervisor, desk = _desk(env, "late")
    try:
        feed = LiveFeed(desk, SYMBOLS)
        now = OPEN + 60 * MINUTE + timedelta(seconds=5)
        steps = feed.pump(now)
        assert [s.at for s in steps] == [OPEN + 59 * MINUTE, OPEN + 60 * MINUTE]
        assert feed.next_due() == OPEN + 61 * MINUTE
    finally:
        supervisor.down()


def test_synthetic_through_extends_the_store_once(env: Env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = env.settings.model_copy(
        update={"data": env.settings.data.model_copy(update={"data_dir": data, "end": SESSION})}
    )
    later = date(2024, 12, 7)  # a Saturday: the store must reach Friday the 6th
    extended = synthetic_through(settings, later, Console(quiet=True))
    assert extended.data.end == later
    bars = BarStore(data).read("1m", list(SYMBOLS), start=date(2024, 12, 6), end=date(2024, 12, 6))
    assert bars.height == 390 * len(SYMBOLS)
    started = time.perf_counter()
    assert synthetic_through(settings, later, Console(quiet=True)).data.end == later
    assert time.perf_counter() - started < 1.0  # already there: nothing regenerated
    assert synthetic_through(extended, later, Console(quiet=True)) is extended
