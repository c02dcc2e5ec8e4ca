"""The engine's book: open lots, round trips as columns, and the cash log (floats, hot path)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(slots=True)
class OpenLot:
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
class RoundTrips:
    """Round trips as columns, one element per trade (or per open lot marked at the end).

    ``size`` is signed; ``commission`` is the total charged (entry plus exit, or the entry's
    alone for a lot still open); ``reason``: signal, stop, target, end, or open.
    """

    code: I64
    entry_row: I64
    exit_row: I64
    entry_ts: I64
    exit_ts: I64
    size: I64
    entry_price: F64
    exit_price: F64
    commission: F64
    reason: list[str]

    def __len__(self) -> int:
        return len(self.reason)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """What a run's fills leave behind: the round trips, the lots still open at the end, the
    cash log (``balance`` after each fill at ``log_ts``) and the entries skipped, by reason."""

    symbols: list[str]
    closed: RoundTrips
    still_open: RoundTrips
    log_ts: I64
    log_balance: F64
    skipped: dict[str, int]


@dataclass(slots=True)
class TripColumns:
    """Round trips being recorded, one list per ``RoundTrips`` column."""

    code: list[int] = field(default_factory=list)
    entry_row: list[int] = field(default_factory=list)
    exit_row: list[int] = field(default_factory=list)
    entry_ts: list[int] = field(default_factory=list)
    exit_ts: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    entry_price: list[float] = field(default_factory=list)
    exit_price: list[float] = field(default_factory=list)
    commission: list[float] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def add(self, lot: OpenLot, row: int, ts: int, price: float, commission: float, reason: str) -> None:
        self.code.append(lot.code)
        self.entry_row.append(lot.entry_row)
        self.exit_row.append(row)
        self.entry_ts.append(lot.entry_ts)
        self.exit_ts.append(ts)
        self.size.append(lot.size)
        self.entry_price.append(lot.entry_price)
        self.exit_price.append(price)
        self.commission.append(commission)
        self.reason.append(reason)

    def freeze(self) -> RoundTrips:
        def ints(c: list[int]) -> I64:
            return np.array(c, dtype=np.int64)

        def floats(c: list[float]) -> F64:
            return np.array(c, dtype=np.float64)

        return RoundTrips(
            code=ints(self.code),
            entry_row=ints(self.entry_row),
            exit_row=ints(self.exit_row),
            entry_ts=ints(self.entry_ts),
            exit_ts=ints(self.exit_ts),
            size=ints(self.size),
            entry_price=floats(self.entry_price),
            exit_price=floats(self.exit_price),
            commission=floats(self.commission),
            reason=list(self.reason),
        )


@dataclass(slots=True)
class BacktestBook:
    """Cash and open lots; ``balance`` is cash plus the cost of the open lots.

    Every fill appends ``(ts, balance after it)`` to the cash log, from which the equity curve
    is rebuilt afterwards.
    """

    balance: float
    symbols: list[str]
    positions: dict[int, OpenLot] = field(default_factory=dict)
    closed: TripColumns = field(default_factory=TripColumns)
    still_open: TripColumns = field(default_factory=TripColumns)
    log_ts: list[int] = field(default_factory=list)
    log_balance: list[float] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    _next_id: int = 0

    def free_cash(self) -> float:
        """Cash not tied up in positions (shorts reserve their entry notional)."""
        return self.balance - sum(abs(p.size) * p.entry_price for p in self.positions.values())

    def open(self, code: int, row: int, size: int, price: float, commission: float, ts: int) -> OpenLot:
        self._next_id += 1
        lot = OpenLot(self._next_id, code, row, ts, size, price, commission)
        self.positions[code] = lot
        self.balance -= commission
        self.log_ts.append(ts)
        self.log_balance.append(self.balance)
        return lot

    def close(self, lot: OpenLot, row: int, price: float, commission: float, reason: str, ts: int) -> None:
        del self.positions[lot.code]
        self.balance += lot.size * (price - lot.entry_price) - commission
        self.log_ts.append(ts)
        self.log_balance.append(self.balance)
        self.closed.add(lot, row, ts, price, lot.entry_commission + commission, reason)

    def mark_open(self, lot: OpenLot, row: int, ts: int, price: float) -> None:
        """Record a lot still open at the end, marked at ``price`` (no exit commission)."""
        self.still_open.add(lot, row, ts, price, lot.entry_commission, "open")

    def record(self) -> FillRecord:
        return FillRecord(
            symbols=self.symbols,
            closed=self.closed.freeze(),
            still_open=self.still_open.freeze(),
            log_ts=np.array(self.log_ts, dtype=np.int64),
            log_balance=np.array(self.log_balance, dtype=np.float64),
            skipped=dict(self.skipped),
        )
