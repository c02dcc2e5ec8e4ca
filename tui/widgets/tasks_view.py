"""``TasksView``: the desk's scheduled tasks, when each is next due and how its last run went."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui import format as fmt
from tui.client import TaskRow
from tui.widgets.tables import RowTable

COLUMNS = ("task", "kind", "for", "next due", "last due", "last run", "detail")
_STYLES = {"ok": "green", "failed": "bold red", "missed": "yellow", "skipped": "dim"}


class TasksView(Vertical):
    loaded = False
    """Whether a poll has filled the table yet."""

    def compose(self) -> ComposeResult:
        yield Static("", id="tasks-note")
        yield RowTable(COLUMNS, id="tasks-table")

    def show(self, rows: Sequence[TaskRow] | None, error: str) -> None:
        self.query_one("#tasks-note", Static).update(Text(error, style="yellow"))
        if rows is None:
            return
        self.loaded = True
        self.query_one("#tasks-table", RowTable).show(
            [
                (
                    r.name,
                    [
                        r.name,
                        r.kind,
                        r.applies_to,
                        fmt.when(r.next_due),
                        fmt.when(r.last_due),
                        Text(r.last_status, style=_STYLES.get(r.last_status, "")),
                        r.last_detail,
                    ],
                )
                for r in rows
            ]
        )
