"""``ConfirmScreen``: asks before an action; destructive ones need a word typed (the account id, HALT).

It dismisses with ``None`` when cancelled, else with the state of its option checkbox (``False``
when it has none), so the kill switch can ask "then flatten?" in the same dialog.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static


class ConfirmScreen(ModalScreen[bool | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, body: str, *, expect: str | None = None, option: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.expect = expect
        self.option = option

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.body, id="dialog-body")
            if self.expect is not None:
                yield Label(f"Type {self.expect} to confirm:")
                yield Input(placeholder=self.expect, id="dialog-input")
            if self.option is not None:
                yield Checkbox(self.option, id="dialog-option")
            with Horizontal(id="dialog-buttons"):
                yield Button("Confirm", variant="error", id="confirm", disabled=self.expect is not None)
                yield Button("Cancel", variant="primary", id="cancel")

    def on_mount(self) -> None:
        if self.expect is not None:
            self.query_one("#dialog-input", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#dialog-input")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self.expect

    @on(Input.Submitted, "#dialog-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.expect:
            self._confirm()

    @on(Button.Pressed, "#confirm")
    def _pressed_confirm(self) -> None:
        self._confirm()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _confirm(self) -> None:
        if self.expect is not None and self.query_one("#dialog-input", Input).value.strip() != self.expect:
            return
        option = self.query_one("#dialog-option", Checkbox).value if self.option is not None else False
        self.dismiss(option)
