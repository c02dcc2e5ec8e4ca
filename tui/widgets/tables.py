"""``RowTable``: a ``DataTable`` refilled from keyed rows, keeping the highlighted row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui.format import Cell


class RowTable(DataTable[Cell]):
    """Fixed columns; ``show`` replaces every row only when the rows changed."""

    def __init__(self, columns: Sequence[str], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns = tuple(columns)
        self._shown: list[tuple[str, tuple[Cell, ...]]] | None = None

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    def show(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Replace the rows (``(key, cells)``), keeping the cursor on the same key if it remains."""
        fresh = [(key, tuple(cells)) for key, cells in rows]
        if fresh == self._shown:
            return
        self._shown = fresh
        keep = self.current_key()
        self.clear()
        for key, cells in fresh:
            self.add_row(*cells, key=key)
        keys = [key for key, _ in fresh]
        if keep in keys:
            self.move_cursor(row=keys.index(keep), animate=False)

    def current_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        if self.row_count == 0:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        value = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return None if value is None else str(value)
