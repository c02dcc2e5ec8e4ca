"""Pre-trade risk rules: each rule at its boundaries, the exits policy, and a property."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidValue
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Equity,
    Instrument,
    InstrumentId,
    Money,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    StrategyId,
    Suggestion,
)
from core.risk import DEFAULT_RULES, RiskContext, RiskDecision, RiskEngine, RiskLimits, is_exit
from core.risk.pricing import combo_max_loss

T = datetime(2025, 11, 3, 15, tzinfo=UTC)
A = AccountId("acct")
AAPL = Equity("AAPL")
MSFT = Equity("MSFT")
SPY = Equity("SPY")
EXP = date(2025, 12, 19)
P622 = OptionContract("QQQ", EXP, "P", 622)
P617 = OptionContract("QQQ", EXP, "P", 617)
C630 = OptionContract("QQQ", EXP, "C", 630)
C635 = OptionContract("QQQ", EXP, "C", 635)
BUY, SELL = OrderSide.BUY, OrderSide.SELL

LIMITS = RiskLimits(
    max_risk_per_trade=Money(1000),
    max_open_positions=3,
    max_exposure_per_symbol=Money(20000),
    daily_loss_limit=Money(1000),
)


def usd(x: str | int | Decimal) -> Money:
    return Money(x)


def quote(inst: Instrument, bid: str, ask: str, age: float = 0.0) -> Quote:
    return Quote(inst.id, Price(bid), Price(ask), T - timedelta(seconds=age))


QUOTES: dict[InstrumentId, Quote] = {
    q.instrument_id: q
    for q in (
        quote(AAPL, "100.00", "100.10"),
        quote(MSFT, "400.00", "400.20"),
        quote(P622, "5.00", "5.20"),
        quote(P617, "3.00", "3.20"),
        quote(C630, "2.00", "2.10"),
        quote(C635, "1.00", "1.10"),
    )
}


def ctx(**changes: object) -> RiskContext:
    base = RiskContext(
        now=T,
        market_open=True,
        balance=AccountBalance(A, usd(100000), usd(100000), usd(100000), T),
        positions={},
        open_orders=(),
        daily_pnl=Money.zero(),
        quotes=QUOTES,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def bp(amount: str | int | Decimal) -> AccountBalance:
    return AccountBalance(A, usd(amount), usd(amount), usd(amount), T)


def single(inst: Instrument = AAPL, side: OrderSide = BUY, qty: int | str = 5, **kw: object) -> Suggestion:
    return Suggestion(
        account_id=A,
        strategy=StrategyId("s"),
        session=T.date(),
        signal=f"{inst}:{side}",
        legs=(OrderLeg(inst, side),),
        quantity=Quantity(qty),
        created_at=T,
        **kw,  # type: ignore[arg-type]
    )


def spread(qty: int = 1, effect: PriceEffect = PriceEffect.CREDIT, **kw: object) -> Suggestion:
    """A QQQ 622/617 put credit spread: natural credit 5.00 − 3.20 = 1.80, max loss 320 each."""
    legs = (OrderLeg(P622, SELL), OrderLeg(P617, BUY))
    if effect is PriceEffect.DEBIT:
        legs = (OrderLeg(P622, BUY), OrderLeg(P617, SELL))
    return Suggestion(
        account_id=A,
        strategy=StrategyId("s"),
        session=T.date(),
        signal="QQQ:spread",
        legs=legs,
        quantity=Quantity(qty),
        created_at=T,
        price_effect=effect,
        **kw,  # type: ignore[arg-type]
    )


def pos(inst: Instrument, net: int | str, avg: str = "100") -> Position:
    return Position(A, inst, Decimal(net), Price(avg))


def positions(*items: Position) -> dict[InstrumentId, Position]:
    return {p.instrument.id: p for p in items}


_ids = iter(range(100_000))


def order(inst: Instrument = MSFT, side: OrderSide = BUY, qty: int = 10, limit: str | None = "400") -> Order:
    kind = OrderType.LIMIT if limit is not None else OrderType.MARKET
    price = Price(limit) if limit is not None else None
    return Order.single(ClientOrderId(f"rd-{next(_ids)}"), A, inst, side, qty, T, kind, limit_price=price)


ENGINE = RiskEngine(LIMITS)


def check(s: Suggestion, c: RiskContext, limits: RiskLimits = LIMITS) -> RiskDecision:
    return RiskEngine(limits).check(s, c)


def denied_by(s: Suggestion, c: RiskContext, limits: RiskLimits = LIMITS) -> str:
    decision = check(s, c, limits)
    assert not decision.approved, decision
    return decision.rule


# -- baseline and API ---------------------------------------------------------------------------


def test_baseline_entries_are_approved() -> None:
    assert ENGINE.check(single(), ctx()) == RiskDecision(True, "", "approved")
    assert ENGINE.check(spread(), ctx()).approved
    assert ENGINE.check_all(single(), ctx()) == []


def test_rule_order_is_documented_order() -> None:
    assert [r.name for r in DEFAULT_RULES] == [
        "kill_switch",
        "market_closed",
        "blackout",
        "stale_quote",
        "crossed_quote",
        "non_positive_credit",
        "short_not_allowed",
        "max_risk_per_trade",
        "buying_power",
        "max_open_positions",
        "max_exposure_per_symbol",
        "daily_loss_limit",
    ]


def test_decision_constructors_and_validation() -> None:
    d = RiskDecision.deny("x", "because")
    assert (d.approved, d.rule, d.reason) == (False, "x", "because")
    assert str(d) == "denied by x: because"
    with pytest.raises(InvalidValue):
        RiskDecision.deny("", "no rule")
    with pytest.raises(InvalidValue, match="daily_loss_limit"):
        replace(LIMITS, daily_loss_limit=usd(-1))
    with pytest.raises(InvalidValue, match="stale_quote_seconds"):
        replace(LIMITS, stale_quote_seconds=0.0)
    with pytest.raises(InvalidValue, match="unique"):
        RiskEngine(LIMITS, rules=(DEFAULT_RULES[0], DEFAULT_RULES[0]))


# -- kill switch and market hours ----------------------------------------------------------------


def test_kill_switch_blocks_entries_with_its_reason_but_not_exits() -> None:
    c = ctx(halted=True, halt_reason="operator stop", positions=positions(pos(AAPL, 100)))
    d = ENGINE.check(single(), c)
    assert (d.approved, d.rule) == (False, "kill_switch")
    assert "operator stop" in d.reason
    assert ENGINE.check(single(side=SELL, qty=100), c).approved


def test_market_closed_blocks_entries_and_exits() -> None:
    c = ctx(market_open=False, positions=positions(pos(AAPL, 100)))
    assert denied_by(single(), c) == "market_closed"
    assert denied_by(single(side=SELL, qty=100), c) == "market_closed"


# -- quotes ----------------------------------------------------------------------------------------


def test_quote_exactly_at_the_limit_is_fresh_and_a_millisecond_more_is_stale() -> None:
    fresh = {**QUOTES, AAPL.id: quote(AAPL, "100.00", "100.10", age=30.0)}
    stale = {**QUOTES, AAPL.id: quote(AAPL, "100.00", "100.10", age=30.001)}
    assert ENGINE.check(single(), ctx(quotes=fresh)).approved
    d = ENGINE.check(single(), ctx(quotes=stale))
    assert d.rule == "stale_quote"
    assert d.reason == "quote for AAPL is 30.001 s old (limit 30 s)"


def test_stale_quote_limit_is_configurable() -> None:
    quotes = {**QUOTES, AAPL.id: quote(AAPL, "100.00", "100.10", age=6)}
    assert ENGINE.check(single(), ctx(quotes=quotes)).approved
    assert denied_by(single(), ctx(quotes=quotes), replace(LIMITS, stale_quote_seconds=5.0)) == "stale_quote"


def test_missing_leg_quote_is_denied() -> None:
    quotes = {k: v for k, v in QUOTES.items() if k != P617.id}
    d = ENGINE.check(spread(), ctx(quotes=quotes))
    assert (d.rule, d.reason) == ("stale_quote", f"no quote for {P617}")


def test_suggestion_priced_from_old_quotes_is_stale() -> None:
    assert ENGINE.check(single(quotes_ts=T - timedelta(seconds=30)), ctx()).approved
    d = ENGINE.check(single(quotes_ts=T - timedelta(seconds=45)), ctx())
    assert d.rule == "stale_quote" and "45.000 s old" in d.reason


def test_stale_quote_also_blocks_exits() -> None:
    quotes = {**QUOTES, AAPL.id: quote(AAPL, "100.00", "100.10", age=31)}
    c = ctx(quotes=quotes, positions=positions(pos(AAPL, 100)))
    assert denied_by(single(side=SELL, qty=100), c) == "stale_quote"


@pytest.mark.parametrize(
    ("bid", "ask", "kind"), [("100.10", "100.10", "locked"), ("100.20", "100.10", "crossed")]
)
def test_locked_and_crossed_quotes_are_denied(bid: str, ask: str, kind: str) -> None:
    quotes = {**QUOTES, AAPL.id: quote(AAPL, bid, ask)}
    d = ENGINE.check(single(), ctx(quotes=quotes))
    assert d.rule == "crossed_quote"
    assert d.reason == f"quote for AAPL is {kind}: bid {bid} >= ask {ask}"


def test_one_cent_spread_is_not_crossed() -> None:
    quotes = {**QUOTES, AAPL.id: quote(AAPL, "100.09", "100.10")}
    assert ENGINE.check(single(), ctx(quotes=quotes)).approved


# -- natural credit --------------------------------------------------------------------------------


@pytest.mark.parametrize(("long_ask", "approved"), [("4.99", True), ("5.00", False), ("5.50", False)])
def test_natural_credit_must_be_positive(long_ask: str, approved: bool) -> None:
    quotes = {**QUOTES, P617.id: quote(P617, "3.00", long_ask)}
    d = ENGINE.check(spread(), ctx(quotes=quotes))
    assert d.approved is approved
    if not approved:
        credit = Decimal("5.00") - Decimal(long_ask)
        assert (d.rule, d.reason) == (
            "non_positive_credit",
            f"natural credit {credit} from the quotes is not positive",
        )


def test_suggested_natural_credit_must_be_positive() -> None:
    d = ENGINE.check(spread(natural=Price("0")), ctx())
    assert (d.rule, d.reason) == ("non_positive_credit", "suggested natural credit 0 is not positive")
    assert ENGINE.check(spread(natural=Price("0.01")), ctx()).approved


def test_debit_spread_is_not_a_credit_check() -> None:
    assert ENGINE.check(spread(effect=PriceEffect.DEBIT), ctx()).approved


# -- max risk ------------------------------------------------------------------------------------


def test_max_risk_message_and_boundary() -> None:
    limits = replace(LIMITS, max_risk_per_trade=usd(300))
    d = check(single(max_risk=usd(450)), ctx(), limits)
    assert (d.rule, d.reason) == ("max_risk_per_trade", "max risk 450.00 USD exceeds limit 300.00 USD")
    assert check(single(max_risk=usd(300)), ctx(), limits).approved


def test_single_leg_risk_derives_from_stop_else_notional() -> None:
    limits = replace(LIMITS, max_risk_per_trade=usd(210))
    # (ask 100.10 − stop 98.00) × 100 = 210.00: at the limit.
    assert check(single(qty=100, stop=Price("98.00")), ctx(), limits).approved
    d = check(single(qty=100, stop=Price("97.99")), ctx(), limits)
    assert d.reason == "max risk 211.00 USD exceeds limit 210.00 USD"
    d = check(single(qty=100), ctx(), limits)
    assert d.reason == "max risk 10,010.00 USD exceeds limit 210.00 USD"
    # A stop above the entry is nonsense for a buy: fall back to the notional.
    assert check(single(qty=100, stop=Price("101")), ctx(), limits).rule == "max_risk_per_trade"


def test_single_option_risk_bought_premium_sold_put_to_zero_naked_call_unknown() -> None:
    d = check(single(P622, BUY, 2), ctx(), replace(LIMITS, max_risk_per_trade=usd(1000)))
    assert d.reason == "max risk 1,040.00 USD exceeds limit 1,000.00 USD"  # ask 5.20 × 100 × 2
    d = check(single(P622, SELL, 1), ctx(), replace(LIMITS, max_risk_per_trade=usd(60000)))
    assert d.reason == "max risk 61,700.00 USD exceeds limit 60,000.00 USD"  # (622 − bid 5) × 100
    assert "cannot be determined" in check(single(C630, SELL, 1), ctx()).reason


def test_sold_put_needs_its_max_loss_as_buying_power() -> None:
    limits = replace(LIMITS, max_risk_per_trade=usd(10**6), max_exposure_per_symbol=usd(10**6))
    d = check(single(P622, SELL, 1), ctx(balance=bp(60000)), limits)
    assert d.rule == "buying_power" and d.reason.startswith("required buying power 61,700.00 USD")
    assert check(single(P622, SELL, 1), ctx(balance=bp(61700)), limits).approved


def test_credit_spread_risk_derives_from_width_and_natural_credit() -> None:
    # (width 5 − credit 1.80) × 100 = 320 per spread.
    assert check(spread(qty=2), ctx(), replace(LIMITS, max_risk_per_trade=usd(640))).approved
    d = check(spread(qty=2), ctx(), replace(LIMITS, max_risk_per_trade=usd("639.99")))
    assert d.reason == "max risk 640.00 USD exceeds limit 639.99 USD"


def test_debit_spread_risk_is_the_natural_debit() -> None:
    # buy 622P at 5.20, sell 617P at 3.00: debit 2.20 × 100 × 3.
    d = check(spread(qty=3, effect=PriceEffect.DEBIT), ctx(), replace(LIMITS, max_risk_per_trade=usd(600)))
    assert d.reason == "max risk 660.00 USD exceeds limit 600.00 USD"


def test_combo_max_loss() -> None:
    put_spread = (OrderLeg(P622, SELL), OrderLeg(P617, BUY))
    assert combo_max_loss(put_spread, Decimal("-1.80"), "USD") == usd(320)
    condor = (*put_spread, OrderLeg(C630, SELL), OrderLeg(C635, BUY))
    assert combo_max_loss(condor, Decimal("-2.50"), "USD") == usd(250)
    naked_call = (OrderLeg(C630, SELL), OrderLeg(P617, BUY))
    assert combo_max_loss(naked_call, Decimal("-1"), "USD") is None
    mixed = (OrderLeg(AAPL, BUY), OrderLeg(P617, BUY))
    assert combo_max_loss(mixed, Decimal("1"), "USD") is None


def test_undeterminable_risk_is_denied() -> None:
    naked = Suggestion(
        A,
        StrategyId("s"),
        T.date(),
        "naked",
        (OrderLeg(C630, SELL), OrderLeg(C635, SELL)),
        Quantity(1),
        T,
        price_effect=PriceEffect.CREDIT,
    )
    d = ENGINE.check(naked, ctx())
    assert d.rule == "max_risk_per_trade" and "cannot be determined" in d.reason


def test_rule_that_cannot_be_evaluated_denies() -> None:
    d = ENGINE.check(single(max_risk=Money(1, "EUR")), ctx())
    assert d.rule == "max_risk_per_trade" and "currency mismatch" in d.reason


# -- buying power ----------------------------------------------------------------------------------


def test_buying_power_boundary_and_message() -> None:
    # mid 100.05 × 5 = 500.25
    assert ENGINE.check(single(), ctx(balance=bp("500.25"))).approved
    d = ENGINE.check(single(), ctx(balance=bp("500.24")))
    assert d.rule == "buying_power"
    assert d.reason == (
        "required buying power 500.25 USD exceeds available 500.24 USD "
        "(buying power 500.24 USD minus 0.00 USD reserved by 0 open order(s))"
    )


def test_short_equity_needs_its_notional() -> None:
    assert denied_by(single(side=SELL), ctx(balance=bp(500))) == "buying_power"
    assert ENGINE.check(single(side=SELL), ctx(balance=bp("500.25"))).approved


def test_credit_spread_needs_its_max_risk() -> None:
    assert ENGINE.check(spread(), ctx(balance=bp(320))).approved
    assert denied_by(spread(), ctx(balance=bp("319.99"))) == "buying_power"


def test_open_entry_orders_reserve_buying_power_but_exit_orders_do_not() -> None:
    entry = order(MSFT, BUY, 10, "400")  # reserves 4,000
    d = ENGINE.check(single(), ctx(balance=bp("4500"), open_orders=(entry,)))
    assert d.rule == "buying_power" and "minus 4,000.00 USD reserved by 1 open order(s)" in d.reason
    assert ENGINE.check(single(), ctx(balance=bp("4500.25"), open_orders=(entry,))).approved
    stop_loss = order(AAPL, SELL, 100, "95")
    c = ctx(balance=bp("600"), open_orders=(stop_loss,), positions=positions(pos(AAPL, 100)))
    assert ENGINE.check(single(), c).approved
    done = replace(entry, status=OrderStatus.CANCELLED)
    assert ENGINE.check(single(), ctx(balance=bp("600"), open_orders=(done,))).approved


# -- open positions --------------------------------------------------------------------------------


def test_max_open_positions_counts_positions_and_open_entry_orders() -> None:
    held = positions(pos(MSFT, 10), pos(SPY, 5))
    assert ENGINE.check(single(), ctx(positions=held)).approved
    c = ctx(positions=held, open_orders=(order(Equity("NVDA"), BUY, 1, "100"),))
    d = ENGINE.check(single(), c)
    assert d.rule == "max_open_positions"
    assert d.reason == "would hold 4 open positions (3 held or pending + AAPL), limit 3"


def test_adding_to_a_held_position_or_a_spread_counts_once() -> None:
    held = positions(pos(MSFT, 10), pos(SPY, 5), pos(AAPL, 5))
    assert ENGINE.check(single(), ctx(positions=held)).approved
    held_spread = positions(pos(MSFT, 10), pos(P622, -1, "5"), pos(P617, 1, "3"))
    assert ENGINE.check(single(MSFT, qty=1), ctx(positions=held_spread)).approved
    assert ENGINE.check(spread(), ctx(positions=positions(pos(MSFT, 10), pos(SPY, 5)))).approved


def test_flat_positions_do_not_count() -> None:
    held = positions(pos(MSFT, 10), pos(SPY, 5), pos(Equity("NVDA"), 0))
    assert ENGINE.check(single(), ctx(positions=held)).approved


# -- exposure --------------------------------------------------------------------------------------


def test_exposure_per_symbol_boundary_and_message() -> None:
    # existing 195 × 100.05 = 19,509.75 + new 5 × 100.05 = 500.25 → 20,010.00
    c = ctx(positions=positions(pos(AAPL, 195, "90")))
    d = ENGINE.check(
        single(),
        c,
    )
    assert d.rule == "max_exposure_per_symbol"
    assert d.reason == (
        "exposure on AAPL would be 20,010.00 USD (19,509.75 USD existing + 500.25 USD new), limit 20,000.00 USD"
    )
    assert check(single(), c, replace(LIMITS, max_exposure_per_symbol=usd(20010))).approved


def test_exposure_uses_gross_value_of_shorts_and_other_underlyings_do_not_count() -> None:
    short = ctx(positions=positions(pos(AAPL, -195, "90")), balance=bp(10**6))
    assert denied_by(single(side=SELL), short) == "max_exposure_per_symbol"
    other = ctx(positions=positions(pos(MSFT, 49)))  # 49 × 400.10 = 19,604.90 on MSFT only
    assert ENGINE.check(single(), other).approved


def test_exposure_marks_unquoted_positions_at_average_price_and_counts_entry_orders() -> None:
    p600 = OptionContract("QQQ", EXP, "P", 600)  # no quote: marked at its average price
    c = ctx(positions=positions(pos(p600, 1, "150")))  # 15,000 on QQQ; the spread adds 320
    assert check(spread(), c, replace(LIMITS, max_exposure_per_symbol=usd(15320))).approved
    d = check(spread(), c, replace(LIMITS, max_exposure_per_symbol=usd("15319.99")))
    assert d.rule == "max_exposure_per_symbol" and "15,000.00 USD existing + 320.00 USD new" in d.reason
    pending = ctx(open_orders=(order(AAPL, BUY, 196, "100"),))  # 19,600 pending on AAPL
    assert denied_by(single(), pending) == "max_exposure_per_symbol"


# -- daily loss ------------------------------------------------------------------------------------


def test_daily_loss_limit_boundary() -> None:
    assert ENGINE.check(single(), ctx(daily_pnl=usd("-999.99"))).approved
    d = ENGINE.check(single(), ctx(daily_pnl=usd(-1000)))
    assert (d.rule, d.reason) == (
        "daily_loss_limit",
        "daily P&L -1,000.00 USD is at or below the loss limit of -1,000.00 USD",
    )


# -- blackout --------------------------------------------------------------------------------------


def test_a_blacked_out_underlying_takes_no_entry_but_can_be_exited() -> None:
    c = ctx(
        blackout={"AAPL": "earnings on 2025-11-04 in 1 session(s) (blackout of 2)"},
        positions=positions(pos(AAPL, 10)),
    )
    d = ENGINE.check(single(), c)
    assert (d.rule, d.reason) == (
        "blackout",
        "AAPL is blacked out: earnings on 2025-11-04 in 1 session(s) (blackout of 2)",
    )
    assert ENGINE.check(single(side=SELL, qty=10), c).approved  # closing the position is allowed
    assert ENGINE.check(single(MSFT), c).rule != "blackout"  # other symbols are not blacked out


# -- shorts ----------------------------------------------------------------------------------------


def test_shorts_can_be_disallowed_but_longs_can_still_be_sold() -> None:
    no_short = replace(LIMITS, allow_short=False)
    d = check(single(side=SELL), ctx(), no_short)
    assert d.rule == "short_not_allowed" and "AAPL" in d.reason
    assert check(single(side=SELL, qty=5), ctx(positions=positions(pos(AAPL, 5))), no_short).approved
    assert check(single(side=SELL, qty=6), ctx(positions=positions(pos(AAPL, 5))), no_short).rule == (
        "short_not_allowed"
    )
    assert check(spread(), ctx(), no_short).approved


# -- exits -----------------------------------------------------------------------------------------


def _hostile() -> tuple[RiskLimits, RiskContext]:
    """Limits and a context in which every entry-only rule fails."""
    limits = RiskLimits(usd(1), 0, usd(1), usd(10), allow_short=False)
    c = ctx(
        halted=True,
        halt_reason="drawdown",
        balance=bp(0),
        daily_pnl=usd(-5000),
        positions=positions(pos(AAPL, 100), pos(P622, -2, "5"), pos(P617, 2, "3")),
    )
    return limits, c


def test_exits_are_approved_when_every_entry_is_denied() -> None:
    limits, c = _hostile()
    engine = RiskEngine(limits)
    assert engine.check(single(MSFT), c).rule == "kill_switch"
    d = engine.check(single(side=SELL, qty=100), c)
    assert d.approved and "exit" in d.reason
    close_spread = spread(qty=2, effect=PriceEffect.DEBIT)  # buy back 622P, sell 617P
    assert is_exit(close_spread, c)
    assert engine.check(close_spread, c).approved
    assert engine.check_all(single(side=SELL, qty=40), c) == []


def test_flipping_or_over_closing_is_an_entry() -> None:
    limits, c = _hostile()
    assert not is_exit(single(side=SELL, qty=101), c)
    assert RiskEngine(limits).check(single(side=SELL, qty=101), c).rule == "kill_switch"
    assert not is_exit(single(side=BUY, qty=1), c)  # adding to a long


def test_closing_orders_in_flight_reduce_what_may_still_be_closed() -> None:
    limits, c = _hostile()
    c = replace(c, open_orders=(order(AAPL, SELL, 60, "99"),))
    assert is_exit(single(side=SELL, qty=40), c)
    assert not is_exit(single(side=SELL, qty=41), c)
    assert RiskEngine(limits).check(single(side=SELL, qty=41), c).rule == "kill_switch"


# -- check_all -------------------------------------------------------------------------------------


def test_check_all_lists_every_failing_rule_in_order() -> None:
    limits, c = _hostile()
    c = replace(c, market_open=False, quotes={**QUOTES, MSFT.id: quote(MSFT, "400.30", "400.20", age=31)})
    rules = [d.rule for d in RiskEngine(limits).check_all(single(MSFT, side=SELL), c)]
    assert rules == [
        "kill_switch",
        "market_closed",
        "stale_quote",
        "crossed_quote",
        "short_not_allowed",
        "max_risk_per_trade",
        "buying_power",
        "max_open_positions",
        "max_exposure_per_symbol",
        "daily_loss_limit",
    ]
    assert RiskEngine(limits).check(single(MSFT, side=SELL), c).rule == "kill_switch"


# -- property --------------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=5_000_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=300, deadline=None)
@given(
    qty=st.integers(min_value=1, max_value=500),
    held=st.integers(min_value=0, max_value=300),
    others=st.integers(min_value=0, max_value=4),
    max_risk=cents,
    exposure=cents,
    buying=cents,
    loss_limit=cents,
    pnl=st.integers(min_value=-3_000_000, max_value=3_000_000).map(lambda c: Decimal(c) / 100),
    max_positions=st.integers(min_value=0, max_value=5),
)
def test_approval_never_happens_when_a_hard_limit_is_exceeded(
    qty: int,
    held: int,
    others: int,
    max_risk: Decimal,
    exposure: Decimal,
    buying: Decimal,
    loss_limit: Decimal,
    pnl: Decimal,
    max_positions: int,
) -> None:
    """An independent oracle for a plain equity buy: approved exactly when no limit is exceeded."""
    limits = RiskLimits(usd(max_risk), max_positions, usd(exposure), usd(loss_limit))
    book = [pos(AAPL, held)] if held else []
    book += [pos(Equity(f"X{i}"), 1) for i in range(others)]
    c = ctx(balance=bp(buying), daily_pnl=usd(pnl), positions=positions(*book))
    bid, ask = Decimal("100.00"), Decimal("100.10")
    mid = (bid + ask) / 2
    breaches = {
        "max_risk_per_trade": ask * qty > max_risk,
        "buying_power": mid * qty > buying,
        "max_open_positions": held == 0 and others + 1 > max_positions,
        "max_exposure_per_symbol": mid * (held + qty) > exposure,
        "daily_loss_limit": pnl <= -loss_limit,
    }
    decision = RiskEngine(limits).check(single(qty=qty), c)
    assert decision.approved is not any(breaches.values())
    failing = {d.rule for d in RiskEngine(limits).check_all(single(qty=qty), c)}
    assert failing == {rule for rule, hit in breaches.items() if hit}
