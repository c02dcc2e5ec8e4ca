"""Every TUI action, driven with Pilot, takes effect on a real desk of simulated accounts.

The desk (``tests/tui/desk.py``) is real Redis, a real SQLite ledger and the accounts' kernels on
their simulated exchanges, without Ray: the TUI queues each command in the Redis inbox through
``actors.overrides.send`` (the CLI's path when no actor answers) and the account applies it at
its next bar cycle, the code path of a running account actor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from adapters.ledger import SqliteLedger
from core.model import AccountId, ClientOrderId, Equity, Fill, FillId, Money, OrderSide, Price, Quantity
from tests.tui.conftest import SIZE, tui_on, until
from tests.tui.desk import ACCOUNTS, Desk
from tui.app import DeskApp
from tui.screens.confirm import ConfirmScreen
from tui.widgets.tables import RowTable

pytestmark = pytest.mark.anyio


def overrides(desk: Desk, account: str) -> list[dict[str, Any]]:
    with SqliteLedger(desk.ledger_path) as ledger:
        return [
            dict(e.payload) | {"seq": e.seq}
            for e in ledger.events(account_id=AccountId(account), kind="override")
        ]


def buys_after(desk: Desk, account: str, seq: int) -> list[str]:
    """Entry orders (sma_cross is long-only: buys) recorded after ledger event ``seq``."""
    with SqliteLedger(desk.ledger_path) as ledger:
        events = ledger.events(after_seq=seq, limit=100_000, account_id=AccountId(account))
    return [
        str(e.payload.get("client_order_id"))
        for e in events
        if e.kind == "order.submitted" and e.payload.get("side") == "buy"
    ]


def held(desk: Desk, account: str) -> dict[str, str]:
    return {p["symbol"]: p["net"] for p in desk.state(account)["positions"]}


def status_cell(app: DeskApp, account: str) -> str:
    table = app.overview.query_one("#accounts", RowTable)
    return str(table.get_row(account)[3])


async def test_pause_and_resume_reach_the_account_and_the_screen_follows(desk: Desk) -> None:
    app = tui_on(desk)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1 and app.selected == "alpha")
        assert status_cell(app, "alpha") == "trading"
        await pilot.press("p")
        await until(pilot, lambda: len(app.results) == 1)
        assert app.results[0].ok and "alpha queued" in app.results[0].summary
        assert desk.queued("alpha") == 1 and desk.queued("beta") == 0
        desk.step()  # the account's next cycle applies the queued command
        assert desk.state("alpha")["status"] == "paused" and desk.state("beta")["status"] == "trading"
        await until(pilot, lambda: status_cell(app, "alpha") == "paused")
        await pilot.press("r")
        await until(pilot, lambda: len(app.results) == 2)
        desk.step()
        await until(pilot, lambda: status_cell(app, "alpha") == "trading")
    recorded = overrides(desk, "alpha")
    assert [(o["cmd"], o["by"], o["accepted"]) for o in recorded] == [
        ("pause", "tester", True),
        ("resume", "tester", True),
    ]
    kinds = [
        (e["kind"], e["payload"].get("cmd")) for _, e in desk.events.read(count=10_000, kinds=["override"])
    ]
    assert kinds.count(("override", "pause")) == 2, "queued, then applied: both in the event log"


async def test_flatten_needs_the_account_id_typed_and_cancel_sends_nothing(desk: Desk) -> None:
    app = tui_on(desk)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        # Select beta with the mouse, then cancel the dialog.
        await pilot.click("#accounts", offset=(2, 2))
        await until(pilot, lambda: app.selected == "beta")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"alpha", "enter")  # the wrong account: nothing happens
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.query_one("#confirm").disabled
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert app.results == [] and desk.queued("beta") == 0
        # Now for real.
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"beta")
        assert not app.screen.query_one("#confirm").disabled
        await pilot.press("enter")
        await until(pilot, lambda: len(app.results) == 1)
    assert app.results[0].ok and desk.queued("beta") == 1 and desk.queued("alpha") == 0
    assert held(desk, "beta")
    desk.step(2)  # the flatten applies, then its market orders fill on the next quotes
    assert held(desk, "beta") == {} and held(desk, "alpha") != {}
    assert [(o["cmd"], o["by"]) for o in overrides(desk, "beta")] == [("flatten", "tester")]


async def test_kill_switch_halts_every_account_before_it_flattens(desk: Desk) -> None:
    app = tui_on(desk)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"HALT")
        await pilot.click("#dialog-option")  # then flatten
        await pilot.click("#confirm")
        await until(pilot, lambda: len(app.results) == 1)
        assert app.results[0].ok
        desk.step(3)
        await until(pilot, lambda: all(status_cell(app, a) == "halted" for a in ACCOUNTS))
    for account in ACCOUNTS:
        halt, flatten = overrides(desk, account)
        assert (halt["cmd"], flatten["cmd"]) == ("halt", "flatten") and halt["seq"] < flatten["seq"]
        assert halt["state"]["halted"] and "entry orders cancelled" in halt["detail"]
        assert held(desk, account) == {}
    desk.step(90)  # sma_cross keeps crossing: a halted desk opens nothing
    for account in ACCOUNTS:
        halt, _ = overrides(desk, account)
        assert buys_after(desk, account, halt["seq"]) == []
        assert held(desk, account) == {} and desk.state(account)["status"] == "halted"


async def test_kill_switch_without_flatten_keeps_positions_and_stops_entries(desk: Desk) -> None:
    before = {a: held(desk, a) for a in ACCOUNTS}
    app = tui_on(desk)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.polls_done >= 1)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancel first: nothing sent
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert all(desk.queued(a) == 0 for a in ACCOUNTS)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"HALT", "enter")
        await until(pilot, lambda: len(app.results) == 1)
        desk.step()
        # Released again from the TUI: resume all (a plain confirmation).
        halted = {a: held(desk, a) for a in ACCOUNTS}
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancel: nothing sent
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert len(app.results) == 1 and all(desk.queued(a) == 0 for a in ACCOUNTS)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm")
        await until(pilot, lambda: len(app.results) == 2)
    assert halted == before, "a kill switch without flatten leaves positions alone"
    for account in ACCOUNTS:
        assert [o["cmd"] for o in overrides(desk, account)] == ["halt"]
    desk.step()
    for account in ACCOUNTS:
        assert [o["cmd"] for o in overrides(desk, account)] == ["halt", "resume_all"]
        assert desk.state(account)["status"] == "trading"


async def test_acknowledge_lifts_a_reconciliation_block(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    from adapters.cache import client_from_url

    client = client_from_url(redis_url)
    client.flushdb()
    client.close()
    desk = Desk(tmp_path / "desk", data_dir, redis_url)
    desk.ledger_path.parent.mkdir(parents=True)
    with SqliteLedger(desk.ledger_path) as ledger:  # a fill the broker never saw: a discrepancy
        ledger.record_fill(
            Fill(
                FillId("alpha:phantom"),
                ClientOrderId("rd-phantom"),
                AccountId("alpha"),
                Equity("SYNA"),
                OrderSide.BUY,
                Quantity(7),
                Price("100"),
                datetime(2024, 11, 29, 14, 0, tzinfo=UTC),
                Money(0),
            )
        )
    desk.start()
    desk.step()
    assert desk.state("alpha")["status"] == "blocked"
    app = tui_on(desk)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.polls_done >= 1)
            await pilot.press("2")  # the account view says why it is blocked
            await until(
                pilot,
                lambda: (
                    "RECONCILIATION BLOCK"
                    in str(app.account_view.query_one("#account-block", Static).render())
                ),
            )
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("enter")  # the focused button is Cancel: a plain Enter never confirms
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            assert app.results == [] and desk.queued("alpha") == 0
            assert app.tabs.active == "account" and app.focused is not None
            assert app.focused.id == "positions", "focus stays on the visible tab"
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.click("#confirm")
            await until(pilot, lambda: len(app.results) == 1)
            desk.step()
            await until(
                pilot,
                lambda: (
                    "RECONCILIATION BLOCK"
                    not in str(app.account_view.query_one("#account-block", Static).render())
                ),
            )
        assert desk.state("alpha")["status"] == "trading"
        with SqliteLedger(desk.ledger_path) as ledger:
            [d] = ledger.discrepancies(AccountId("alpha"))
        assert d.acknowledged_by == "tester" and not d.is_open
        assert overrides(desk, "alpha")[-1]["detail"] == "1 discrepancies acknowledged"
    finally:
        desk.close()
