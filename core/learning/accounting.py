"""A trade's own book: its fills, replayed into per-instrument positions.

A trade's fills are, in ledger order, its entry fill and every later fill of its instruments
(or of its opening order, for legs the entry did not declare) until each instrument is flat
again. A fill that flips an instrument through zero counts only up to flat; the rest opens the
next trade (whose entry records how much of that fill it took).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from core.model import Fill, Money, OrderSide, Position, Price, Quantity


def part_of(fill: Fill, quantity: Decimal) -> Fill:
    """``fill`` cut to ``quantity`` (commission pro rata)."""
    if quantity == fill.quantity.value:
        return fill
    share = quantity / fill.quantity.value
    return replace(fill, quantity=Quantity(quantity), commission=fill.commission * share)


@dataclass(slots=True)
class Book:
    """Per-instrument positions of one trade, built from its fills only."""

    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_flat(self) -> bool:
        return bool(self.fills) and all(p.is_flat for p in self.positions.values())

    @property
    def realized(self) -> Decimal:
        return sum((p.realized_pnl.amount for p in self.positions.values()), Decimal(0))

    @property
    def commissions(self) -> Decimal:
        return sum((f.commission.amount for f in self.fills), Decimal(0))

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if not p.is_flat]

    def unrealized(self, marks: Mapping[str, Decimal]) -> Decimal | None:
        """Σ unrealized P&L of the open legs at ``marks``; None when one is missing."""
        total = Decimal(0)
        for p in self.open_positions():
            mark = marks.get(str(p.instrument.id))
            if mark is None:
                return None
            total += p.unrealized_pnl(Price(mark)).amount
        return total

    def pnl(self, marks: Mapping[str, Decimal]) -> Decimal | None:
        """Trade P&L to date: realized (after commissions) plus the open legs at ``marks``."""
        unrealized = self.unrealized(marks)
        return None if unrealized is None else self.realized + unrealized


def build_book(
    fills: Iterable[Fill],
    entry_fill_id: str,
    entry_quantity: Decimal,
    instruments: Iterable[str],
    group: str,
    end_fill_id: str | None = None,
) -> Book:
    """Replay the trade's fills (see the module doc) into a ``Book``."""
    book = Book()
    ids = set(instruments)
    done: set[str] = set()
    started = False
    for fill in fills:
        iid = str(fill.instrument.id)
        if not started:
            if str(fill.fill_id) != entry_fill_id:
                continue
            started = True
            fill = part_of(fill, entry_quantity)
        elif iid in done or not (iid in ids or str(fill.client_order_id) == group):
            continue
        ids.add(iid)
        pos = book.positions.get(iid) or Position.flat(fill.account_id, fill.instrument)
        signed = fill.quantity.value * (1 if fill.side is OrderSide.BUY else -1)
        if pos.net != 0 and (pos.net > 0) != (signed > 0) and abs(signed) > abs(pos.net):
            fill = part_of(fill, abs(pos.net))
        pos = pos.apply(fill)
        book.positions[iid] = pos
        book.fills.append(fill)
        if pos.is_flat:
            done.add(iid)
        if end_fill_id is not None and str(fill.fill_id) == end_fill_id:
            break
    return book


def money(value: Decimal | Money) -> float:
    return float(value.amount if isinstance(value, Money) else value)
