"""Snapshots of every screen at 120x40 on pinned data (``tui.fake``), cursor blink frozen.

Update them after an intended change with ``pytest tests/tui --snapshot-update`` and review the
SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from core.clock import SimClock
from tui.app import DeskApp
from tui.fake import T0, FakeDeskClient
from tui.screens.confirm import ConfirmScreen

SIZE = (120, 40)


def app(**kwargs: Any) -> DeskApp:
    return DeskApp(FakeDeskClient(**kwargs), interval=0.05, clock=SimClock(T0))


def settled(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press ``keys``, then wait for two polls after the last and freeze any text cursor."""

    async def run(pilot: Pilot[None]) -> None:
        desk: Any = pilot.app
        for _ in range(200):  # mounted and polled: the initial tab is settled
            if desk.polls_done >= 2:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        for key in keys:
            await pilot.press(key)
        start = desk.polls_done
        for _ in range(200):
            if desk.polls_done >= start + 2:
                break
            await pilot.pause(0.02)
        if isinstance(desk.screen, ConfirmScreen):
            for field in desk.screen.query(Input):
                field.cursor_blink = False
        await pilot.pause()

    return run


@pytest.mark.parametrize(
    "tab", ["1", "2", "3", "4", "5"], ids=["desk", "account", "models", "tasks", "events"]
)
def test_each_tab(snap_compare: Any, tab: str) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled(tab))


def test_kill_switch_dialog(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled("k", "H", "A"))


def test_flatten_dialog_on_the_second_account(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=settled("down", "f"))


def test_desk_down(snap_compare: Any) -> None:
    assert snap_compare(app(reachable=False), terminal_size=SIZE, run_before=settled())
