"""Fixtures of the TUI tests: a real desk of simulated accounts (no Ray) and helpers for Pilot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from adapters.cache import EmbeddedRedis, client_from_url
from tests.tui.desk import Desk, replay_until_positions, write_bars
from tui.app import DeskApp
from tui.desk_client import RedisDeskClient

SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bars(tmp_path_factory.mktemp("bars"))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis") / "r.rdb") as server:
        yield server.url


@pytest.fixture
def desk(tmp_path: Path, data_dir: Path, redis_url: str) -> Iterator[Desk]:
    """Two accounts that each hold a position, mid-session."""
    client = client_from_url(redis_url)
    client.flushdb()
    client.close()
    desk = Desk(tmp_path / "desk", data_dir, redis_url)
    desk.start()
    replay_until_positions(desk)
    try:
        yield desk
    finally:
        desk.close()


def tui_on(desk: Desk, registry: Path | None = None) -> DeskApp:
    """The TUI on ``desk`` as ``raydesk tui --via redis`` runs it (commands through the inbox)."""
    client = RedisDeskClient(desk.settings(), registry or desk.root / "models", attach_ray=False, by="tester")
    return DeskApp(client, interval=0.1)


async def until(pilot: Pilot[None], condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds."""
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(
        f"not reached in {timeout_s}s: {condition.__code__.co_filename}:{condition.__code__.co_firstlineno}"
    )
