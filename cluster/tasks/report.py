"""The daily performance report (close + 120 min): P&L, trades and win rate per account."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.notify import NotificationDispatcher
from cluster.tasks.common import DeskPaths, session_of, write_json
from configs import Settings
from core.clock import Clock
from core.model import AccountId, Fill, Position
from core.ports.ledger import Ledger
from core.ports.notify import Notification

__all__ = ["AccountDay", "account_day", "daily_report"]


@dataclass
class AccountDay:
    """One account's session. A trade is a round trip (flat, open, flat or flipped) closed today."""

    account: str
    realized_pnl: Decimal = Decimal(0)
    fills: int = 0
    trade_pnls: list[Decimal] = field(default_factory=list)
    open_positions: list[dict[str, str]] = field(default_factory=list)
    denials: dict[str, int] = field(default_factory=dict)

    @property
    def win_rate(self) -> float | None:
        if not self.trade_pnls:
            return None
        return sum(p > 0 for p in self.trade_pnls) / len(self.trade_pnls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "realized_pnl": str(self.realized_pnl),
            "fills": self.fills,
            "trades": len(self.trade_pnls),
            "wins": sum(p > 0 for p in self.trade_pnls),
            "win_rate": self.win_rate,
            "trade_pnls": [str(p) for p in self.trade_pnls],
            "open_positions": self.open_positions,
            "denials": self.denials,
        }


def _replay(day: AccountDay, fills: list[Fill], session: date) -> None:
    """Fold every fill into positions; book the realized P&L and closed trades of ``session``."""
    books: dict[str, tuple[Position, Decimal]] = {}  # instrument -> (position, realized at trade start)
    for fill in fills:
        key = str(fill.instrument.id)
        before, start = books.get(key, (Position.flat(fill.account_id, fill.instrument), Decimal(0)))
        after = before.apply(fill)
        today = session_of(fill.ts) == session
        if today:
            day.fills += 1
            day.realized_pnl += after.realized_pnl.amount - before.realized_pnl.amount
        if before.is_flat and not after.is_flat:
            start = before.realized_pnl.amount
        elif not before.is_flat and (after.is_flat or (after.net > 0) != (before.net > 0)):
            if today:
                day.trade_pnls.append(after.realized_pnl.amount - start)
            start = after.realized_pnl.amount  # a flip opens the next trade at once
        books[key] = (after, start)


def account_day(ledger: Ledger, account: str, session: date) -> AccountDay:
    """The session's figures of one account, from the ledger's fills, positions and denials."""
    aid = AccountId(account)
    day = AccountDay(account)
    _replay(day, ledger.fills(aid), session)
    day.open_positions = [
        {"instrument": str(p.instrument.id), "net": str(p.net), "avg_price": str(p.avg_price.value)}
        for p in ledger.positions(aid)
        if not p.is_flat
    ]
    day.denials = dict(
        sorted(Counter(d.rule for d in ledger.denials(aid) if session_of(d.ts) == session).items())
    )
    return day


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def _html(session: date, days: list[AccountDay]) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("account", "realized P&L", "fills", "trades", "win rate", "open", "denials")
    )
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                d.account,
                d.realized_pnl,
                d.fills,
                len(d.trade_pnls),
                _pct(d.win_rate),
                ", ".join(f"{p['instrument']} {p['net']}" for p in d.open_positions) or "-",
                ", ".join(f"{r}: {n}" for r, n in d.denials.items()) or "-",
            )
        )
        + "</tr>"
        for d in days
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Daily report {session}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#f4f4f4}}</style>
</head><body><h1>Daily report {session}</h1>
<table><tr>{head}</tr>
{rows}
</table></body></html>
"""


def _line(d: AccountDay) -> str:
    return f"P&L {d.realized_pnl}, {len(d.trade_pnls)} trades, win rate {_pct(d.win_rate)}, {len(d.open_positions)} open"


def daily_report(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    ledger: Ledger,
    notifier: NotificationDispatcher,
    session: date,
) -> str:
    """Write ``reports/daily/<session>.json`` and ``.html``, log a ``report.daily`` event, notify.

    Per account: the session's realized P&L from its fills (commissions included), its closed
    round trips and their win rate, open positions and risk denials by rule. Each account gets
    a ``daily_report`` notification (its preference decides; ``daily`` still gets it at once),
    then the queued digests are flushed.
    """
    days = [account_day(ledger, a.id, session) for a in settings.accounts]
    trades = [p for d in days for p in d.trade_pnls]
    win_rate = (sum(p > 0 for p in trades) / len(trades)) if trades else None
    total = sum((d.realized_pnl for d in days), Decimal(0))
    desk: dict[str, Any] = {"realized_pnl": str(total), "trades": len(trades), "win_rate": win_rate}
    payload = {
        "session": session.isoformat(),
        "generated_at": clock.now().isoformat(),
        "desk": desk,
        "accounts": [d.to_dict() for d in days],
    }
    out: Path = paths.reports_dir / "daily"
    write_json(out / f"{session.isoformat()}.json", payload)
    (out / f"{session.isoformat()}.html").write_text(_html(session, days), encoding="utf-8")
    summary = {d.account: {"realized_pnl": str(d.realized_pnl), "trades": len(d.trade_pnls)} for d in days}
    ledger.append_event("report.daily", {"session": session.isoformat(), "desk": desk, "accounts": summary})
    for d in days:
        notifier.notify(
            Notification(
                kind="daily_report",
                title=f"Daily report {session}: {d.account}",
                body=_line(d),
                ts=clock.now(),
                account_id=d.account,
                fields={"realized_pnl": str(d.realized_pnl), "trades": str(len(d.trade_pnls))},
            )
        )
    notifier.flush_digest()
    return f"report {session}: desk P&L {total}, {len(trades)} trades, win rate {_pct(win_rate)}"
