"""Commission, regulatory fee and slippage models: small, configurable, pure.

A commission model prices one fill given what the same order already paid, so a per-order
minimum is charged once per order, not once per partial fill. ``percent_of_notional`` and
``slipped`` are the formulas alone, generic over ``float`` and ``Decimal``, so the backtester's
float path prices exactly like the models here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Protocol, TypeVar, runtime_checkable

from core.model import AssetClass, Instrument, Money, OrderSide

_CENT = Decimal("0.01")

N = TypeVar("N", float, Decimal)


def percent_of_notional(quantity: N, price: N, rate: N, fixed: N) -> N:
    """``fixed`` plus ``rate`` of ``quantity × price`` (a percentage commission, unrounded)."""
    return fixed + quantity * price * rate


def slipped(price: N, sign: int, fraction: N) -> N:
    """``price`` moved by ``fraction`` of itself against a taker (``sign``: +1 buy, −1 sell)."""
    return price * (1 + sign * fraction)


def _round_up_cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, ROUND_CEILING)


@runtime_checkable
class CommissionModel(Protocol):
    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        """Commission of a fill of ``quantity`` at ``price``; ``charged`` is what the order paid so far."""
        ...


@runtime_checkable
class FeeModel(Protocol):
    def fees(self, instrument: Instrument, side: OrderSide, quantity: Decimal, price: Decimal) -> Money:
        """Exchange and regulatory fees of one fill."""
        ...


@runtime_checkable
class SlippageModel(Protocol):
    def apply(self, price: Decimal, side: OrderSide) -> Decimal:
        """``price`` moved against a taker on ``side`` (higher for buys, lower for sells)."""
        ...


@dataclass(frozen=True, slots=True)
class ZeroCommission:
    """No commission (Alpaca equities)."""

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        return Money.zero(charged.currency)


@dataclass(frozen=True, slots=True)
class PerShareCommission:
    """``per_share`` per share, at least ``minimum`` per order, at most ``max_pct`` of the notional."""

    per_share: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("1.00")
    max_pct: Decimal | None = Decimal("0.01")

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        amount = self.per_share * quantity
        if self.max_pct is not None:
            amount = min(amount, self.max_pct * quantity * price * instrument.multiplier)
        amount = max(amount, self.minimum - charged.amount)
        return Money(_round_up_cents(max(amount, Decimal(0))), charged.currency)


@dataclass(frozen=True, slots=True)
class PerContractCommission:
    """``per_contract`` per option contract, at least ``minimum`` per order."""

    per_contract: Decimal = Decimal("0.65")
    minimum: Decimal = Decimal(0)

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        amount = max(self.per_contract * quantity, self.minimum - charged.amount)
        return Money(_round_up_cents(max(amount, Decimal(0))), charged.currency)


@dataclass(frozen=True, slots=True)
class PercentCommission:
    """``fixed`` per fill plus ``rate`` of the notional (quantity × price × multiplier), in cents up."""

    rate: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        amount = percent_of_notional(quantity, price * instrument.multiplier, self.rate, self.fixed)
        return Money(_round_up_cents(amount), charged.currency)


@dataclass(frozen=True, slots=True)
class StandardCommission:
    """One model for equities and one for options, chosen by the instrument's asset class."""

    equity: CommissionModel = field(default_factory=ZeroCommission)
    option: CommissionModel = field(default_factory=PerContractCommission)

    def commission(self, instrument: Instrument, quantity: Decimal, price: Decimal, charged: Money) -> Money:
        model = self.option if instrument.asset_class is AssetClass.OPTION else self.equity
        return model.commission(instrument, quantity, price, charged)


@dataclass(frozen=True, slots=True)
class NoFees:
    def fees(self, instrument: Instrument, side: OrderSide, quantity: Decimal, price: Decimal) -> Money:
        return Money.zero()


@dataclass(frozen=True, slots=True)
class RegulatoryFees:
    """US sell-side fees: the SEC fee on the notional and FINRA's TAF per share or contract."""

    sec_rate: Decimal = Decimal("0.0000278")
    taf_per_share: Decimal = Decimal("0.000166")
    taf_max: Decimal = Decimal("8.30")
    taf_per_contract: Decimal = Decimal("0.00279")

    def fees(self, instrument: Instrument, side: OrderSide, quantity: Decimal, price: Decimal) -> Money:
        if side is OrderSide.BUY:
            return Money.zero()
        sec = self.sec_rate * quantity * price * instrument.multiplier
        if instrument.asset_class is AssetClass.OPTION:
            taf = self.taf_per_contract * quantity
        else:
            taf = min(self.taf_per_share * quantity, self.taf_max)
        return Money(_round_up_cents(sec + taf))


@dataclass(frozen=True, slots=True)
class NoSlippage:
    def apply(self, price: Decimal, side: OrderSide) -> Decimal:
        return price


@dataclass(frozen=True, slots=True)
class BpsSlippage:
    """Slippage of ``bps`` basis points of the price."""

    bps: Decimal = Decimal(1)

    def apply(self, price: Decimal, side: OrderSide) -> Decimal:
        return slipped(price, side.sign, self.bps / Decimal(10_000))


@dataclass(frozen=True, slots=True)
class TickSlippage:
    """Slippage of ``ticks`` ticks of size ``tick``; never pushes a sell below one tick."""

    ticks: int = 1
    tick: Decimal = Decimal("0.01")

    def apply(self, price: Decimal, side: OrderSide) -> Decimal:
        return max(price + side.sign * self.ticks * self.tick, self.tick)
