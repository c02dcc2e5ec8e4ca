"""``AccountView``: one account's positions, working orders, today's fills, denials and blocks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui import format as fmt
from tui.client import AccountDetail
from tui.widgets.tables import RowTable

POSITION_COLUMNS = ("symbol", "side", "qty", "entry", "mark", "P&L", "P&L %", "stop", "target", "strategy")
ORDER_COLUMNS = ("symbol", "side", "qty", "filled", "type", "limit", "status", "strategy")
FILL_COLUMNS = ("time", "symbol", "side", "qty", "price", "order")
DENIAL_COLUMNS = ("time", "strategy", "rule", "reason")


def position_rows(state: Mapping[str, Any]) -> list[tuple[str, list[fmt.Cell]]]:
    rows: list[tuple[str, list[fmt.Cell]]] = []
    for p in state.get("positions") or []:
        net = fmt.dec(p.get("net"))
        rows.append(
            (
                str(p.get("symbol")),
                [
                    str(p.get("symbol")),
                    fmt.side_of(net),
                    fmt.DASH if net is None else str(abs(net)),
                    fmt.price(p.get("avg_price")),
                    fmt.price(p.get("mark")),
                    fmt.signed(p.get("unrealized_pnl")),
                    fmt.pnl_pct(net, p.get("avg_price"), p.get("mark")),
                    fmt.price(p.get("stop")),
                    fmt.price(p.get("target")),
                    str(p.get("strategy") or fmt.DASH),
                ],
            )
        )
    return rows


def order_rows(state: Mapping[str, Any]) -> list[tuple[str, list[fmt.Cell]]]:
    return [
        (
            str(o.get("client_order_id")),
            [
                str(o.get("symbol")),
                str(o.get("side")),
                str(o.get("quantity")),
                str(o.get("filled")),
                str(o.get("type")),
                fmt.price(o.get("limit_price")),
                str(o.get("status")),
                str(o.get("strategy") or fmt.DASH),
            ],
        )
        for o in state.get("open_orders") or []
    ]


class AccountView(Vertical):
    """The account tab (the account highlighted on the desk tab)."""

    def compose(self) -> ComposeResult:
        yield Static("no account selected", id="account-title", classes="title")
        yield Static("", id="account-block")
        yield Static("positions", classes="section")
        yield RowTable(POSITION_COLUMNS, id="positions")
        yield Static("working orders", classes="section")
        yield RowTable(ORDER_COLUMNS, id="orders")
        with Horizontal(id="account-lower"):
            with Vertical():
                yield Static("today's fills", id="fills-title", classes="section")
                yield RowTable(FILL_COLUMNS, id="fills")
            with Vertical():
                yield Static("risk denials (latest first)", classes="section")
                yield RowTable(DENIAL_COLUMNS, id="denials")

    def show(
        self, account: str | None, state: Mapping[str, Any] | None, detail: AccountDetail | None
    ) -> None:
        title = self.query_one("#account-title", Static)
        if account is None:
            title.update("no account selected: pick one on the desk tab")
            return
        line = Text(f"{account}  ", style="bold")
        line.append_text(fmt.status(state))
        if state is not None:
            pnl = state.get("pnl") or {}
            balance = state.get("balance") or {}
            line.append(f"  equity {fmt.money(balance.get('equity'))}  day ")
            line.append_text(fmt.signed(pnl.get("daily")))
            line.append("  realized ")
            line.append_text(fmt.signed(pnl.get("realized")))
        title.update(line)
        self.query_one("#positions", RowTable).show(position_rows(state or {}))
        self.query_one("#orders", RowTable).show(order_rows(state or {}))
        if detail is None or detail.account_id != account:
            return
        self.query_one("#fills-title", Static).update(f"fills of session {detail.session}")
        self.query_one("#fills", RowTable).show(
            [
                (
                    f"{i}",
                    [fmt.hhmmss(f.ts), f.symbol, f.side, f.quantity, fmt.price(f.price), f.client_order_id],
                )
                for i, f in enumerate(detail.fills)
            ]
        )
        self.query_one("#denials", RowTable).show(
            [(f"{i}", [fmt.hhmmss(d.ts), d.strategy, d.rule, d.reason]) for i, d in enumerate(detail.denials)]
        )
        block = self.query_one("#account-block", Static)
        if detail.error:
            block.update(Text(detail.error, style="yellow"))
        elif opened := [d for d in detail.discrepancies if d.state == "open"]:
            items = "; ".join(
                f"{d.kind} {d.subject}: ledger {d.ledger_value} vs broker {d.broker_value}" for d in opened
            )
            block.update(
                Text(f"RECONCILIATION BLOCK ({len(opened)} open): {items}  [a] acknowledge", style="bold red")
            )
        else:
            block.update("")
