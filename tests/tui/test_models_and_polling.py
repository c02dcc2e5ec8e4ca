"""Promote and roll back from the models tab; polling that never overlaps; a desk that is down."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from core.clock import SimClock
from core.ports.cache import BROADCAST
from tests.tui.conftest import SIZE, tui_on, until
from tests.tui.desk import Desk
from training.registry import ModelRegistry
from tui.app import DeskApp
from tui.client import DeskPoll, PollRequest
from tui.fake import T0, FakeDeskClient
from tui.screens.confirm import ConfirmScreen
from tui.widgets.models_view import ModelsView
from tui.widgets.tables import RowTable

pytestmark = pytest.mark.anyio
STRATEGY = "sma_cross"


def registry_with_versions(root: Path) -> ModelRegistry:
    registry = ModelRegistry(root, SimClock(T0))
    for sharpe in (1.2, 1.5):
        registry.register(
            STRATEGY,
            b"model",
            metrics={"sharpe": sharpe, "max_drawdown_pct": 3.0, "n_trades": 150},
            features=["ret_1", "ret_5"],
            feature_hash="abc123",
            data_window=(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC)),
            params={"num_leaves": 15},
            code_version="test",
            gate_report={
                "passed": True,
                "gates": [
                    {"name": "min_sharpe", "op": ">=", "threshold": 1.0, "value": sharpe, "passed": True}
                ],
            },
        )
    registry.promote(STRATEGY, "v0001")
    return registry


def live(registry: ModelRegistry) -> str | None:
    model = registry.promoted(STRATEGY)
    return None if model is None else model.version


def chosen(view: ModelsView) -> str | None:
    row = view.selected()
    return None if row is None else row.version


async def test_promote_and_roll_back_from_the_models_tab(desk: Desk) -> None:
    registry = registry_with_versions(desk.root / "models")
    app = tui_on(desk, desk.root / "models")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        view = app.query_one(ModelsView)
        await until(pilot, lambda: view.selected() is not None)
        assert chosen(view) == "v0001"
        await pilot.press("down")
        await until(pilot, lambda: chosen(view) == "v0002")
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancel: nothing changes
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert live(registry) == "v0001"
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm")
        await until(pilot, lambda: len(app.results) == 1)
        assert app.results[0].ok, app.results[0].summary
        assert live(registry) == "v0002"
        await until(
            pilot,
            lambda: str(view.query_one("#models-table", RowTable).get_row("sma_cross/v0002")[2]) == "★ live",
        )
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancel: still v0002
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert live(registry) == "v0002" and len(app.results) == 1
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm")
        await until(pilot, lambda: len(app.results) == 2)
    assert live(registry) == "v0001"
    assert [(e.action, e.version) for e in registry.history(STRATEGY)][-2:] == [
        ("promote", "v0002"),
        ("rollback", "v0001"),
    ]
    logged = [
        e["payload"]
        for _, e in desk.events.read(count=10_000, kinds=["override"])
        if e["account"] == BROADCAST
    ]
    assert [(p["cmd"], p["version"], p["previous"], p["by"]) for p in logged] == [
        ("promote", "v0002", "v0001", "tester"),
        ("rollback", "v0001", "v0002", "tester"),
    ]


class SlowClient(FakeDeskClient):
    """Polls take ``delay_s``, or hang until ``release`` is set; counts how many run at once."""

    def __init__(self, delay_s: float | None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.delay_s = delay_s
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def poll(self, request: PollRequest) -> DeskPoll:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.delay_s is None:
                self.release.wait(30)
            else:
                time.sleep(self.delay_s)
            return super().poll(request)
        finally:
            with self._lock:
                self.running -= 1


async def test_polls_never_overlap_even_when_asked_for_during_one() -> None:
    client = SlowClient(0.15)
    app = DeskApp(client, interval=0.01, clock=SimClock(T0))
    async with app.run_test(size=SIZE) as pilot:
        for key in "12345" * 3:  # every tab change asks for a poll at once
            await pilot.press(key)
            await pilot.pause(0.03)
        await until(pilot, lambda: app.polls_done >= 8)
    assert client.most == 1
    assert len(client.polls) >= 8


async def test_polling_goes_on_behind_a_dialog_and_after_it_is_cancelled() -> None:
    client = FakeDeskClient()
    app = DeskApp(client, interval=0.05, clock=SimClock(T0))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        seen = app.polls_done
        await until(pilot, lambda: app.polls_done >= seen + 3)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        seen = app.polls_done
        await until(pilot, lambda: app.polls_done >= seen + 3)
    assert client.calls == []


async def test_the_ui_answers_and_says_so_while_the_desk_is_down() -> None:
    client = SlowClient(None, reachable=False)
    client.release.set()  # the first poll answers "down" at once
    app = DeskApp(client, interval=0.05, clock=SimClock(T0))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        status = str(app.status_line.render())
        assert "DESK DOWN" in status and "connection refused" in status
        client.release.clear()  # the next poll hangs on the dead desk...
        await until(pilot, lambda: client.running == 1)
        await pilot.press("3")  # ...and the keyboard still works
        assert app.query_one("#tabs", TabbedContent).active == "models"
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert client.running == 1, "answered while the poll was still hanging"
        await pilot.press("escape")
        client.release.set()


async def test_a_real_client_on_a_missing_redis_reports_the_desk_down(tmp_path: Path) -> None:
    from configs import load_settings
    from tui.desk_client import RedisDeskClient

    settings = load_settings("test", env={}, overrides={"redis": {"url": f"unix://{tmp_path}/none.sock"}})
    app = DeskApp(RedisDeskClient(settings, tmp_path / "models", attach_ray=False), interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        assert "DESK DOWN" in str(app.status_line.render())
