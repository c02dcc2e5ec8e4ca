"""The engine's book: open positions, closed trades and the cash ledger (floats, hot path)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Position:
    """An open position in one symbol; ``size`` is signed (negative: short)."""

    id: int
    code: int
    entry_row: int
    entry_ts: int
    size: int
    entry_price: float
    entry_commission: float

    @property
    def is_long(self) -> bool:
        return self.size > 0


@dataclass(frozen=True, slots=True)
class Trade:
    """A round trip (or an open position marked at the end, ``reason == "open"``).

    ``pnl`` is net of both commissions; ``ret`` is backtesting.py's ``pl_pct``: the signed price
    return minus the commissions per unit of entry value.
    """

    code: int
    entry_row: int
    exit_row: int
    entry_ts: int
    exit_ts: int
    size: int
    entry_price: float
    exit_price: float
    pnl: float
    commission: float
    ret: float
    reason: str


@dataclass(slots=True)
class Ledger:
    """Cash and positions; ``balance`` is cash plus the cost of the open positions."""

    balance: float
    symbols: list[str]
    positions: dict[int, Position] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    open_trades: list[Trade] = field(default_factory=list)
    log_ts: list[int] = field(default_factory=list)
    log_balance: list[float] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    _next_id: int = 0

    def free_cash(self) -> float:
        """Cash not tied up in positions (shorts reserve their entry notional)."""
        return self.balance - sum(abs(p.size) * p.entry_price for p in self.positions.values())

    def _log(self, ts: int) -> None:
        self.log_ts.append(ts)
        self.log_balance.append(self.balance)

    def open(self, code: int, row: int, size: int, price: float, commission: float, ts: int) -> Position:
        self._next_id += 1
        pos = Position(self._next_id, code, row, ts, size, price, commission)
        self.positions[code] = pos
        self.balance -= commission
        self._log(ts)
        return pos

    def close(self, pos: Position, row: int, price: float, commission: float, reason: str, ts: int) -> None:
        del self.positions[pos.code]
        self.balance += pos.size * (price - pos.entry_price) - commission
        self._log(ts)
        self.trades.append(self._trade(pos, row, ts, price, pos.entry_commission + commission, reason))

    def mark_open(self, pos: Position, row: int, ts: int, price: float) -> None:
        """Record a position still open at the end, marked at ``price`` (no exit commission)."""
        self.open_trades.append(self._trade(pos, row, ts, price, pos.entry_commission, "open"))

    @staticmethod
    def _trade(pos: Position, row: int, ts: int, price: float, commission: float, reason: str) -> Trade:
        notional = abs(pos.size) * pos.entry_price
        sign = 1.0 if pos.size > 0 else -1.0
        return Trade(
            code=pos.code,
            entry_row=pos.entry_row,
            exit_row=row,
            entry_ts=pos.entry_ts,
            exit_ts=ts,
            size=pos.size,
            entry_price=pos.entry_price,
            exit_price=price,
            pnl=pos.size * (price - pos.entry_price) - commission,
            commission=commission,
            ret=sign * (price / pos.entry_price - 1.0) - commission / notional,
            reason=reason,
        )
