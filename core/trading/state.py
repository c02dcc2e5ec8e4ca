"""The account state published to the ``StateBoard`` after every cycle (JSON-able values)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.model import AccountBalance, Money, Price
from core.trading.commands import ControlState
from core.trading.entries import Book
from core.trading.protections import ProtectionBook


def build_state(
    *,
    account_id: str,
    now: datetime,
    status: str,
    control: ControlState,
    automation_enabled: bool,
    book: Book,
    realized_pnl: Money,
    marks: Mapping[str, float],
    protections: ProtectionBook,
    balance: AccountBalance | None,
    daily_pnl: Money | None,
    last_bar_ts: datetime | None,
    model_versions: Mapping[str, str],
    scored: Mapping[str, int],
    fallbacks: Mapping[str, int],
    latency: Mapping[str, Any],
    cycles: int,
    ledger_seq: int,
) -> dict[str, Any]:
    positions: list[dict[str, Any]] = []
    unrealized = Decimal(0)
    for iid, p in sorted(book.positions.items()):
        mark = marks.get(str(iid))
        pnl = None if mark is None else p.unrealized_pnl(Price(mark)).amount
        unrealized += pnl or 0
        protection = protections.for_position(p)
        positions.append(
            {
                "symbol": str(iid),
                "net": str(p.net),
                "avg_price": str(p.avg_price.value),
                "mark": mark,
                "unrealized_pnl": None if pnl is None else str(pnl.quantize(Decimal("0.01"))),
                "realized_pnl": str(p.realized_pnl.amount),
                "strategy": None if protection is None else protection.strategy,
                "stop": None if protection is None else protection.stop,
                "target": None if protection is None else protection.target,
            }
        )
    orders = [
        {
            "client_order_id": str(o.client_order_id),
            "symbol": " / ".join(str(leg.instrument.id) for leg in o.legs),
            "side": "combo" if o.is_multi_leg else o.side.value,
            "quantity": str(o.quantity.value),
            "filled": str(o.filled_quantity.value),
            "type": o.order_type.value,
            "limit_price": None if o.limit_price is None else str(o.limit_price.value),
            "status": o.status.value,
            "strategy": None if o.strategy is None else str(o.strategy),
        }
        for o in book.open_orders
    ]
    return {
        "account": account_id,
        "ts": now.isoformat(),
        "status": status,
        "automation_enabled": automation_enabled,
        **control.to_payload(),
        "last_bar_ts": None if last_bar_ts is None else last_bar_ts.isoformat(),
        "positions": positions,
        "open_orders": orders,
        "pnl": {
            "unrealized": str(unrealized.quantize(Decimal("0.01"))),
            "realized": str(realized_pnl.amount),
            "daily": None if daily_pnl is None else str(daily_pnl.amount),
        },
        "balance": None
        if balance is None
        else {
            "cash": str(balance.cash.amount),
            "buying_power": str(balance.buying_power.amount),
            "equity": str(balance.equity.amount),
            "ts": balance.ts.isoformat(),
        },
        "model_versions": dict(model_versions),
        "scored": dict(scored),
        "fallbacks": dict(fallbacks),
        "fallback_total": sum(fallbacks.values()),
        "latency": dict(latency),
        "cycles": cycles,
        "ledger_seq": ledger_seq,
    }
