"""``EventLogView``: the desk's event and alert log, following new events as they arrive."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import RichLog

from core.ports.cache import Event
from tui.format import event_line

MAX_LINES = 2000


class EventLogView(RichLog):
    """Appends each event once (by its log id); scrolls to the newest unless the user scrolled up."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self.last_id: str | None = None
        self.alerts = 0

    def add(self, events: Sequence[Event]) -> None:
        for event_id, event in events:
            if self.last_id is not None and _order(event_id) <= _order(self.last_id):
                continue
            self.last_id = event_id
            self.alerts += event.get("kind") == "alert"
            self.write(event_line(event))

    def note(self, text: str, style: str = "bold") -> None:
        """A line of the TUI's own (an action's outcome), not from the desk."""
        self.write(Text(text, style=style))


def _order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)
