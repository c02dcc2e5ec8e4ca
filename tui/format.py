"""How the TUI writes values: money, P&L, percentages, times, event summaries (plain functions)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from rich.text import Text

DASH: Final = "-"
Cell = str | Text
"""A table cell: plain or styled text."""
_EVENT_KEYS: Final = (
    "cmd",
    "alert",
    "task",
    "symbol",
    "instrument_id",
    "instrument",
    "side",
    "quantity",
    "price",
    "status",
    "filled_quantity",
    "rule",
    "reason",
    "accepted",
    "detail",
    "error",
    "client_order_id",
)
_EVENT_STYLES: Final = {
    "alert": "bold red",
    "denial": "yellow",
    "fill": "green",
    "override": "bold magenta",
    "reconcile": "cyan",
}


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: Any) -> str:
    """``12,345.67``; ``-`` when unknown."""
    amount = dec(value)
    return DASH if amount is None else f"{amount:,.2f}"


def signed(value: Any) -> Text:
    """A P&L: green when up, red when down, with its sign."""
    amount = dec(value)
    if amount is None:
        return Text(DASH)
    style = "green" if amount > 0 else "red" if amount < 0 else ""
    return Text(f"{amount:+,.2f}", style=style)


def price(value: Any) -> str:
    amount = dec(value)
    return DASH if amount is None else f"{amount:.2f}"


def pnl_pct(net: Any, entry: Any, mark: Any) -> Text:
    """The open P&L as a percentage of the entry price, signed by the side."""
    qty, avg, last = dec(net), dec(entry), dec(mark)
    if qty is None or avg is None or last is None or avg == 0 or qty == 0:
        return Text(DASH)
    pct = (last - avg) / avg * 100 * (1 if qty > 0 else -1)
    return signed(pct.quantize(Decimal("0.01"))).append("%")


def side_of(net: Any) -> str:
    qty = dec(net)
    return DASH if qty is None or qty == 0 else "long" if qty > 0 else "short"


def hhmmss(value: datetime | str | None) -> str:
    if value is None or value == "":
        return DASH
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{ts:%H:%M:%S}"


def when(value: datetime | None) -> str:
    return DASH if value is None else f"{value:%Y-%m-%d %H:%M}"


def summary(payload: Mapping[str, Any], width: int = 90) -> str:
    """An event payload in one line: the well-known fields first, then the rest."""
    parts = [f"{k}={payload[k]}" for k in _EVENT_KEYS if payload.get(k) not in (None, "")]
    rest = {
        k: v
        for k, v in payload.items()
        if k not in _EVENT_KEYS and k not in ("seq", "state", "orders", "fill_id")
    }
    if rest:
        parts.append(json.dumps(rest, default=str, separators=(",", ":")))
    line = " ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"


def event_line(event: Mapping[str, Any]) -> Text:
    """``15:30:00 fill      intraday  symbol=SYNA side=buy ...``, coloured by kind."""
    kind = str(event.get("kind", ""))
    text = Text(f"{hhmmss(event.get('ts'))} ")
    text.append(f"{kind:<10}", style=_EVENT_STYLES.get(kind, "dim"))
    text.append(f"{event.get('account', '')!s:<10} ")
    payload = event.get("payload")
    text.append(summary(payload if isinstance(payload, Mapping) else {}))
    return text


def connection(broker: str, state: Mapping[str, Any] | None) -> Text:
    """The broker and the connection as the account sees it (``recovering``: cannot reconcile)."""
    if state is None:
        return Text(f"{broker} ?", style="dim")
    if state.get("status") == "recovering":
        return Text(f"{broker} DOWN", style="bold red")
    return Text(f"{broker} ok", style="green")


def kill_state(state: Mapping[str, Any] | None) -> Text:
    if state is None:
        return Text(DASH)
    if state.get("halted"):
        return Text(f"HALTED {state.get('halt_reason') or ''}"[:24].strip(), style="bold red")
    return Text("off", style="dim")


_STATUS_STYLES: Final = {
    "trading": "bold green",
    "suggesting": "green",
    "paused": "yellow",
    "halted": "bold red",
    "blocked": "bold red",
    "recovering": "red",
    "deleting": "red",
    "deleted": "dim",
}


def status(state: Mapping[str, Any] | None) -> Text:
    if state is None:
        return Text("not running", style="dim")
    value = str(state.get("status", DASH))
    return Text(value, style=_STATUS_STYLES.get(value, ""))


def scoring(state: Mapping[str, Any] | None) -> tuple[str, str]:
    """(model versions, scoring counts) of an account's state."""
    if state is None:
        return DASH, DASH
    versions = state.get("model_versions") or {}
    models = ", ".join(str(v) for _, v in sorted(versions.items())) or "rules"
    scored = sum(int(v) for v in (state.get("scored") or {}).values())
    fallbacks = int(state.get("fallback_total") or 0)
    return models, f"{scored}/{fallbacks}"
