"""``ModelsView``: registered model versions, their gates, which is promoted, and lineage."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from tui import format as fmt
from tui.client import ModelRow
from tui.widgets.tables import RowTable

COLUMNS = ("strategy", "version", "live", "created", "sharpe", "max dd %", "trades", "gates")


def model_key(row: ModelRow) -> str:
    return f"{row.strategy}/{row.version}"


def _metric(row: ModelRow, key: str, spec: str) -> str:
    value = row.metrics.get(key)
    return format(value, spec) if isinstance(value, int | float) else fmt.DASH


def lineage(row: ModelRow) -> Table:
    table = Table(title=f"{row.strategy} {row.version}", show_header=False, expand=True)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    table.add_row("promoted", "yes (live)" if row.promoted else "no")
    for name, value in row.lineage.items():
        table.add_row(name, value)
    for gate, op, threshold, value, passed in row.gate_rows:
        table.add_row(f"gate {gate}", Text(f"{value} {op} {threshold}", style="green" if passed else "red"))
    for line in row.history:
        table.add_row("history", line)
    return table


class ModelsView(Horizontal):
    """The models tab: versions on the left, the highlighted one's lineage on the right."""

    def compose(self) -> ComposeResult:
        yield RowTable(COLUMNS, id="models-table")
        yield Static("", id="lineage")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows: dict[str, ModelRow] = {}

    def show(self, rows: Sequence[ModelRow] | None, error: str) -> None:
        if rows is None:
            self.query_one("#lineage", Static).update(Text(error, style="yellow"))
            return
        self._rows = {model_key(r): r for r in rows}
        self.query_one("#models-table", RowTable).show(
            [
                (
                    model_key(r),
                    [
                        r.strategy,
                        r.version,
                        Text("★ live", style="bold green") if r.promoted else "",
                        fmt.when(r.created_at),
                        _metric(r, "sharpe", ".2f"),
                        _metric(r, "max_drawdown_pct", ".2f"),
                        _metric(r, "n_trades", "d"),
                        Text(
                            r.gates,
                            style="green" if r.gates == "pass" else "red" if r.gates == "fail" else "",
                        ),
                    ],
                )
                for r in rows
            ]
        )
        self._describe()
        if error or not rows:
            self.query_one("#lineage", Static).update(Text(error or "no models registered", style="yellow"))

    def selected(self) -> ModelRow | None:
        key = self.query_one("#models-table", RowTable).current_key()
        return None if key is None else self._rows.get(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        row = self.selected()
        if row is not None:
            self.query_one("#lineage", Static).update(lineage(row))
