"""``DeskApp``: the Textual app that watches the desk and acts on it.

Every read and every action runs in a thread worker; a poll's result comes back as a
``PollDone`` message and only then is the next poll scheduled, so polls never overlap and a
slow or dead desk never blocks the keyboard. What a poll fetches follows the visible tab: states
and new events always, the selected account's ledger rows on the account tab, the registry on
the models tab, the task runs on the tasks tab.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from core.clock import Clock, LiveClock
from tui import format as fmt
from tui.client import AccountInfo, ActionResult, DeskClient, DeskPoll, PollRequest
from tui.screens.confirm import ConfirmScreen
from tui.widgets.account_view import AccountView
from tui.widgets.event_log import EventLogView
from tui.widgets.models_view import ModelsView
from tui.widgets.overview import DeskOverview, account_ids
from tui.widgets.tables import RowTable
from tui.widgets.tasks_view import TasksView

SLOW_EVERY: Final = 5
"""The registry and the task runs are re-read every this many polls while their tab shows."""


class PollDone(Message):
    """A poll finished (in a worker thread); carries what it read."""

    def __init__(self, poll: DeskPoll) -> None:
        super().__init__()
        self.poll = poll


class ActionDone(Message):
    """An action finished (in a worker thread)."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__()
        self.result = result


class DeskTabs(TabbedContent):
    """Tabs that change by key or click only: focus follows the visible tab, never leads it.

    (``TabbedContent`` shows the pane of any widget that gets focus; a focus landing late, such
    as the one restored when a dialog closes, would switch the tab behind the user's back.)
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.prevent_default()  # TabbedContent's own handler would switch to the pane
        event.stop()


class DeskApp(App[None]):
    """The raydesk terminal UI on ``client`` (see the module docstring)."""

    CSS_PATH = "desk.tcss"
    ENABLE_COMMAND_PALETTE = False
    TITLE = "raydesk"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('desk')", "Desk", show=False),
        Binding("2", "tab('account')", "Account", show=False),
        Binding("3", "tab('models')", "Models", show=False),
        Binding("4", "tab('tasks')", "Tasks", show=False),
        Binding("5", "tab('events')", "Events", show=False),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("a", "acknowledge", "Ack"),
        Binding("f", "flatten", "Flatten"),
        Binding("k", "kill", "KILL"),
        Binding("u", "resume_all", "Resume all"),
        Binding("P", "promote", "Promote"),
        Binding("B", "rollback", "Roll back"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, client: DeskClient, *, interval: float = 1.0, clock: Clock | None = None) -> None:
        super().__init__()
        self.client = client
        self.interval = interval
        self.clock = clock or LiveClock()
        self.infos: Sequence[AccountInfo] = ()
        self.selected: str | None = None
        self.last_poll: DeskPoll | None = None
        self.polls_done = 0
        self.results: list[ActionResult] = []
        """Every action's outcome, oldest first."""
        self._last_event: str | None = None
        self._last_good: str = ""
        self._polling = False
        self._again = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        # Kept as attributes: a modal screen on top must not hide them from the polling.
        self.status_line = Static("raydesk: connecting…", id="status")
        self.tabs = DeskTabs(initial="desk", id="tabs")
        self.overview = DeskOverview(id="overview")
        self.account_view = AccountView(id="account-view")
        self.models_view = ModelsView(id="models-view")
        self.tasks_view = TasksView(id="tasks-view")
        self.log_view = EventLogView(id="events-log")
        yield self.status_line
        with self.tabs:
            with TabPane("Desk [1]", id="desk"):
                yield self.overview
            with TabPane("Account [2]", id="account"):
                yield self.account_view
            with TabPane("Models [3]", id="models"):
                yield self.models_view
            with TabPane("Tasks [4]", id="tasks"):
                yield self.tasks_view
            with TabPane("Events [5]", id="events"):
                yield self.log_view
        yield Footer()

    def on_mount(self) -> None:
        self.overview.query_one("#accounts", RowTable).focus()
        self._load_accounts()

    # -- polling -----------------------------------------------------------------------------
    @work(thread=True, group="setup", exit_on_error=False)
    def _load_accounts(self) -> None:
        infos = self.client.accounts()
        self.call_from_thread(self._accounts_loaded, infos)

    def _accounts_loaded(self, infos: Sequence[AccountInfo]) -> None:
        self.infos = tuple(infos)
        self._start_poll()

    def _request(self) -> PollRequest:
        tab = self.tabs.active
        slow = self.polls_done % SLOW_EVERY == 0
        return PollRequest(
            since_event=self._last_event,
            account=self.selected if tab == "account" else None,
            models=tab == "models" and (slow or self.models_view.selected() is None),
            tasks=tab == "tasks" and (slow or not self.tasks_view.loaded),
        )

    def _start_poll(self) -> None:
        self._timer = None
        if not self._alive():
            return
        if self._polling:
            self._again = True
            return
        self._polling = True
        self._poll(self._request())

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self, request: PollRequest) -> None:
        try:
            poll = self.client.poll(request)
        except Exception as exc:  # a client bug must not stop the polling
            poll = DeskPoll(reachable=False, error=f"{type(exc).__name__}: {exc}")
        self.post_message(PollDone(poll))

    def poll_soon(self) -> None:
        """Poll now (or right after the poll in flight)."""
        if self._timer is not None:
            self._timer.stop()
        self._start_poll()

    def on_poll_done(self, message: PollDone) -> None:
        self._polling = False
        if not self._alive():
            return
        self.polls_done += 1
        try:
            self._apply(message.poll)
        finally:
            if self._again:  # asked for while this poll ran: go again now
                self._again = False
                self.call_later(self._start_poll)
            else:
                self._timer = self.set_timer(self.interval, self._start_poll)

    def _apply(self, poll: DeskPoll) -> None:
        if not poll.reachable:
            if self.last_poll is None:  # never reached: the configured accounts, no state
                self.overview.show(self.infos, {}, {})
            self._show_status(poll)
            return
        self.last_poll = poll
        self._last_event = poll.last_event
        self._last_good = fmt.hhmmss(self.clock.now())
        if self.selected is None or self.selected not in poll.states:
            ids = account_ids(self.infos, poll.states)
            self.selected = self.selected if self.selected in ids else (ids[0] if ids else None)
        self.log_view.add(poll.events)
        self.overview.show(self.infos, poll.states, poll.equity)
        self._show_account()
        if poll.models is not None or poll.models_error:
            self.models_view.show(poll.models, poll.models_error)
        if poll.tasks is not None or poll.tasks_error:
            self.tasks_view.show(poll.tasks, poll.tasks_error)
        self._show_status(poll)

    def _show_account(self) -> None:
        poll = self.last_poll
        if poll is None:
            return
        state = poll.states.get(self.selected) if self.selected else None
        self.account_view.show(self.selected, state, poll.detail)

    def _show_status(self, poll: DeskPoll) -> None:
        live = [a.id for a in self.infos if a.mode == "live"]
        line = Text("raydesk ", style="bold")
        line.append(f"{self.client.where}  ")
        line.append(
            f"LIVE: {', '.join(live)}" if live else "PAPER",
            style="bold white on red" if live else "bold green",
        )
        if poll.reachable:
            line.append(f"  desk up: {len(poll.states)} accounts publishing", style="green")
            line.append(f"  updated {self._last_good}")
        else:
            line.append(f"  DESK DOWN: {poll.error}", style="bold red")
            since = f" (showing data from {self._last_good})" if self._last_good else ""
            line.append(f"  retrying every {self.interval:g}s{since}", style="red")
        alerts = self.log_view.alerts
        if alerts:
            line.append(f"  {alerts} alerts", style="bold red")
        self.status_line.update(line)

    # -- navigation --------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.tabs.active = tab

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        pane = self.tabs.active_pane
        if pane is not None:  # the keys move through the tab's main table (or log)
            targets = pane.query("DataTable, RichLog")
            if targets:
                targets.first().focus()
        self._show_account()
        self.poll_soon()

    @on(DataTable.RowHighlighted, "#accounts")
    def _account_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is not None and key != self.selected:
            self.selected = str(key)
            self._show_account()

    @on(DataTable.RowSelected, "#accounts")
    def _account_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_tab("account")

    # -- actions -----------------------------------------------------------------------------
    def _account(self) -> str | None:
        if self.selected is None:
            self.notify("no account selected", severity="warning")
        return self.selected

    def action_pause(self) -> None:
        if account := self._account():
            self.act(f"pause {account}", lambda: self.client.pause(account, "from the TUI"))

    def action_resume(self) -> None:
        if account := self._account():
            self.act(f"resume {account}", lambda: self.client.resume(account, "from the TUI"))

    def action_acknowledge(self) -> None:
        if not (account := self._account()):
            return
        body = f"Acknowledge the open reconciliation discrepancies of {account}? It trades again afterwards."
        self.confirm(
            ConfirmScreen("Acknowledge reconciliation block", body),
            f"acknowledge {account}",
            lambda _: self.client.acknowledge(account, "acknowledged in the TUI"),
        )

    def action_flatten(self) -> None:
        if not (account := self._account()):
            return
        body = f"Cancel the entry orders of {account} and close every position at market, now."
        self.confirm(
            ConfirmScreen(f"Flatten {account}", body, expect=account),
            f"flatten {account}",
            lambda _: self.client.flatten(account, "flatten from the TUI"),
        )

    def action_kill(self) -> None:
        body = (
            "Kill switch: every account stops opening positions and its entry orders are cancelled. "
            "Open positions stay unless you also ask to flatten (after the halt has reached every account)."
        )
        self.confirm(
            ConfirmScreen("Desk kill switch", body, expect="HALT", option="then flatten every account"),
            "kill switch",
            lambda flatten: self.client.kill_switch(flatten, "kill switch from the TUI"),
        )

    def action_resume_all(self) -> None:
        self.confirm(
            ConfirmScreen("Resume all", "Lift the kill switch and every pause on all accounts?"),
            "resume all",
            lambda _: self.client.resume_all("resumed in the TUI"),
        )

    def _model(self) -> Any:
        if self.tabs.active != "models":
            self.notify("promote and roll back on the models tab [3]", severity="warning")
            return None
        row = self.models_view.selected()
        if row is None:
            self.notify("no model selected", severity="warning")
        return row

    def action_promote(self) -> None:
        if (row := self._model()) is None:
            return
        strategy, version = row.strategy, row.version
        self.confirm(
            ConfirmScreen("Promote model", f"Make {strategy} {version} the live model of {strategy}?"),
            f"promote {strategy} {version}",
            lambda _: self.client.promote(strategy, version),
        )

    def action_rollback(self) -> None:
        if (row := self._model()) is None:
            return
        strategy = row.strategy
        self.confirm(
            ConfirmScreen(
                "Roll back model", f"Return {strategy} to the version promoted before the current one?"
            ),
            f"roll back {strategy}",
            lambda _: self.client.rollback(strategy),
        )

    def confirm(self, screen: ConfirmScreen, label: str, run: Callable[[bool], ActionResult]) -> None:
        """Show ``screen``; on confirmation run the action with the dialog's option."""

        def done(choice: bool | None) -> None:
            if choice is None:
                self.log_view.note(f"cancelled: {label}", "dim")
                return
            self.act(label, lambda: run(choice))

        self.push_screen(screen, done)

    def act(self, label: str, run: Callable[[], ActionResult]) -> None:
        """Run an action in a worker; its outcome is noted in the log and the desk re-polled."""
        self.log_view.note(f"sending: {label}", "dim")
        self._act(label, run)

    @work(thread=True, group="actions", exit_on_error=False)
    def _act(self, label: str, run: Callable[[], ActionResult]) -> None:
        try:
            result = run()
        except Exception as exc:  # shown to the user; the TUI keeps running
            result = ActionResult(label, False, (f"{type(exc).__name__}: {exc}",))
        self.post_message(ActionDone(result))

    def on_action_done(self, message: ActionDone) -> None:
        result = message.result
        self.results.append(result)
        if not self._alive():
            return
        self.log_view.note(result.summary, "bold green" if result.ok else "bold red")
        self.notify(result.summary, severity="information" if result.ok else "error", timeout=6)
        self.poll_soon()

    def on_unmount(self) -> None:
        self.client.close()

    def _alive(self) -> bool:
        """False once the app shuts down (its widgets are gone)."""
        return self.is_running and self.tabs.is_attached
