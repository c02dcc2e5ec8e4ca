"""Commission, fee and slippage models, alone and as charged on fills."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

from adapters.brokers.sim import (
    BpsSlippage,
    NoSlippage,
    PercentCommission,
    PerContractCommission,
    PerShareCommission,
    RegulatoryFees,
    SimExchange,
    SimExchangeConfig,
    SimExecutionClient,
    StandardCommission,
    TickSlippage,
    ZeroCommission,
)
from core.clock import SimClock
from core.model import AccountId, Bar, ClientOrderId, Equity, Money, OptionContract, Order, OrderSide

SPY = Equity("SPY")
PUT = OptionContract("SPY", date(2025, 6, 20), "P", 95)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
T0 = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)


def test_per_share_commission_has_a_per_order_minimum_and_a_cap() -> None:
    model = PerShareCommission(per_share=D("0.005"), minimum=D(1), max_pct=D("0.01"))
    assert model.commission(SPY, D(100), D(50), Money.zero()) == Money(1)  # 0.50 raised to the minimum
    assert model.commission(SPY, D(1000), D(50), Money.zero()) == Money(5)
    assert model.commission(SPY, D(100), D(50), Money("0.60")) == Money("0.50")  # minimum already paid
    assert model.commission(SPY, D(1000), D("0.10"), Money.zero()) == Money(1)  # capped at 1% = 1.00


def test_per_contract_commission_and_the_standard_split() -> None:
    assert PerContractCommission().commission(PUT, D(3), D(2), Money.zero()) == Money("1.95")
    standard = StandardCommission(equity=ZeroCommission(), option=PerContractCommission(D("0.65")))
    assert standard.commission(SPY, D(100), D(50), Money.zero()) == Money(0)
    assert standard.commission(PUT, D(10), D(2), Money.zero()) == Money("6.50")


def test_percent_commission_charges_a_rate_of_the_notional_plus_a_fixed_fee() -> None:
    model = PercentCommission(rate=D("0.001"), fixed=D(1))
    assert model.commission(SPY, D(100), D("50.05"), Money.zero()) == Money("6.01")  # 1 + 5.005, cents up
    assert model.commission(PUT, D(2), D(3), Money.zero()) == Money("1.60")  # × 100 multiplier


def test_regulatory_fees_charge_sells_only() -> None:
    fees = RegulatoryFees()
    assert fees.fees(SPY, BUY, D(100), D(100)) == Money(0)
    # SEC 10,000 × 0.0000278 = 0.278 plus TAF 100 × 0.000166 = 0.0166, rounded up to cents
    assert fees.fees(SPY, SELL, D(100), D(100)) == Money("0.30")
    assert fees.fees(SPY, SELL, D(10_000_000), D(1)) > Money("8.30")  # TAF capped, SEC not


def test_slippage_moves_prices_against_the_taker() -> None:
    assert BpsSlippage(D(10)).apply(D(100), BUY) == D("100.1")
    assert BpsSlippage(D(10)).apply(D(100), SELL) == D("99.9")
    assert TickSlippage(2, D("0.01")).apply(D(10), SELL) == D("9.98")
    assert TickSlippage(2, D("0.01")).apply(D("0.01"), SELL) == D("0.01")
    assert NoSlippage().apply(D(5), BUY) == D(5)


def test_fills_carry_commission_plus_fees_and_minimums_apply_once_per_order() -> None:
    config = SimExchangeConfig(
        commission=StandardCommission(equity=PerShareCommission(D("0.005"), D(1), None)),
        fees=RegulatoryFees(),
        max_participation=D("0.5"),
    )
    clock = SimClock(T0)
    ex = SimExchange(config, clock)
    acct = AccountId("a")
    ex.open_account(acct, Money(100_000))
    client = SimExecutionClient(ex, acct)
    ex.on_bar("SPY", Bar("SPY", T0, 100, 100, 100, 100, 1000))
    client.submit(Order.single(ClientOrderId("b"), acct, SPY, BUY, 600, T0))
    ex.on_bar("SPY", Bar("SPY", T0, 100, 100, 100, 100, 200))  # 100 shares: 0.50 -> minimum 1.00
    ex.on_bar("SPY", Bar("SPY", T0, 100, 100, 100, 100, 1000))  # 500 shares: 2.50
    assert [f.commission for f in client.fills_since(T0)] == [Money(1), Money("2.50")]
    assert client.balance().cash == Money(100_000 - 60_000 - D("3.50"))
