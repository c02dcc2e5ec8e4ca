"""``DeskOverview``: every account in one table, and an equity sparkline per account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Sparkline, Static

from tui import format as fmt
from tui.client import AccountInfo
from tui.widgets.tables import RowTable

COLUMNS = (
    "account",
    "mode",
    "broker/conn",
    "status",
    "kill switch",
    "equity",
    "day P&L",
    "open P&L",
    "pos",
    "ord",
    "model",
    "scored/fb",
    "updated",
)


def account_ids(infos: Sequence[AccountInfo], states: Mapping[str, Any]) -> list[str]:
    """The configured accounts, then any other account the desk publishes."""
    known = [a.id for a in infos]
    return known + sorted(a for a in states if a not in known)


def overview_rows(
    infos: Sequence[AccountInfo], states: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, list[fmt.Cell]]]:
    by_id = {a.id: a for a in infos}
    rows: list[tuple[str, list[fmt.Cell]]] = []
    for account in account_ids(infos, states):
        info, state = by_id.get(account), states.get(account)
        mode = info.mode if info else "?"
        pnl = (state or {}).get("pnl") or {}
        balance = (state or {}).get("balance") or {}
        model, scored = fmt.scoring(state)
        rows.append(
            (
                account,
                [
                    account,
                    Text(mode.upper(), style="bold red" if mode == "live" else "green"),
                    fmt.connection(info.broker if info else "?", state),
                    fmt.status(state),
                    fmt.kill_state(state),
                    fmt.money(balance.get("equity")),
                    fmt.signed(pnl.get("daily")),
                    fmt.signed(pnl.get("unrealized")),
                    str(len(state.get("positions") or [])) if state else fmt.DASH,
                    str(len(state.get("open_orders") or [])) if state else fmt.DASH,
                    model,
                    scored,
                    fmt.hhmmss(state.get("ts")) if state else fmt.DASH,
                ],
            )
        )
    return rows


class EquitySparklines(VerticalScroll):
    """One labelled sparkline per account; rows appear as accounts do."""

    def show(self, series: Mapping[str, Sequence[float]]) -> None:
        for account, points in sorted(series.items()):
            row_id = f"equity-{account}"
            found = self.query(f"#{row_id}")
            if not found:
                row = Horizontal(
                    Label(f"{account:<12}", classes="spark-label"),
                    Sparkline([], id=f"spark-{account}", classes="spark"),
                    Label("", id=f"last-{account}", classes="spark-last"),
                    id=row_id,
                    classes="spark-row",
                )
                self.mount(row)
                self.call_after_refresh(self._fill, account, points)
            else:
                self._fill(account, points)

    def _fill(self, account: str, points: Sequence[float]) -> None:
        self.query_one(f"#spark-{account}", Sparkline).data = list(points)
        last = f"{points[-1]:,.2f}" if points else fmt.DASH
        self.query_one(f"#last-{account}", Label).update(last)


class DeskOverview(Vertical):
    """The desk tab: the accounts table and the equity sparklines."""

    def compose(self) -> ComposeResult:
        yield RowTable(COLUMNS, id="accounts")
        yield Static("equity (one point per state update)", classes="section")
        yield EquitySparklines(id="equity")

    def show(
        self,
        infos: Sequence[AccountInfo],
        states: Mapping[str, Mapping[str, Any]],
        equity: Mapping[str, Sequence[float]],
    ) -> None:
        self.query_one("#accounts", RowTable).show(overview_rows(infos, states))
        self.query_one("#equity", EquitySparklines).show(equity)
