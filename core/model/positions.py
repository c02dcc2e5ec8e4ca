"""Positions: the net holding of one instrument in one account, with its P&L."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from core.errors import InvalidValue
from core.model.fills import Fill
from core.model.identifiers import AccountId
from core.model.instruments import Instrument
from core.model.orders import OrderSide
from core.model.values import Money, Price


@dataclass(frozen=True, slots=True)
class Position:
    """A long (``net > 0``) or short (``net < 0``) position.

    ``avg_price`` is the average price of the open quantity. ``realized_pnl`` accumulates the P&L
    of closed quantity *after* commissions (every commission paid on this instrument is in it).
    P&L counts the instrument's multiplier (100 for a standard option contract).
    """

    account_id: AccountId
    instrument: Instrument
    net: Decimal = Decimal(0)
    avg_price: Price = field(default_factory=lambda: Price(0))
    realized_pnl: Money = field(default_factory=Money.zero)

    @classmethod
    def flat(cls, account_id: AccountId, instrument: Instrument) -> Position:
        return cls(account_id, instrument)

    @property
    def is_flat(self) -> bool:
        return self.net == 0

    @property
    def is_long(self) -> bool:
        return self.net > 0

    @property
    def is_short(self) -> bool:
        return self.net < 0

    @property
    def multiplier(self) -> int:
        return self.instrument.multiplier

    def unrealized_pnl(self, mark: Price) -> Money:
        """P&L of the open quantity if it were closed at ``mark``."""
        return Money((mark.value - self.avg_price.value) * self.net * self.multiplier)

    def market_value(self, mark: Price) -> Money:
        """Signed value at ``mark``: positive for long, negative for short."""
        return Money(mark.value * self.net * self.multiplier)

    def cost_basis(self) -> Money:
        return Money(self.avg_price.value * self.net * self.multiplier)

    def apply(self, fill: Fill) -> Position:
        """This position after ``fill``: opens, adds to, reduces, closes or flips it."""
        if fill.instrument != self.instrument or fill.account_id != self.account_id:
            raise InvalidValue(f"fill {fill.fill_id} is not for position {self.instrument}")
        signed = fill.quantity.value if fill.side is OrderSide.BUY else -fill.quantity.value
        price = fill.price.value
        realized = self.realized_pnl - fill.commission
        net, avg = self.net, self.avg_price.value
        if net == 0 or (net > 0) == (signed > 0):
            new_net = net + signed
            new_avg = (avg * abs(net) + price * abs(signed)) / abs(new_net)
        else:
            closed = min(abs(net), abs(signed))
            direction = 1 if net > 0 else -1
            realized += Money((price - avg) * closed * direction * self.multiplier)
            new_net = net + signed
            if new_net == 0:
                new_avg = Decimal(0)
            elif (new_net > 0) == (net > 0):
                new_avg = avg
            else:
                new_avg = price
        return replace(self, net=new_net, avg_price=Price(new_avg), realized_pnl=realized)
