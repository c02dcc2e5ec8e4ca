"""The Senex Trident's pure parts: strike and expiry selection, pricing from quotes, exits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.market.synthetic import SymbolParams, SyntheticMarket, SyntheticMarketConfig
from adapters.market.synthetic.options import ChainConfig, option_chain
from adapters.market.synthetic.quotes_bridge import (
    SyntheticOptionChains,
    chain_quotes,
    push,
    to_option_quote,
)
from core.clock import SimClock
from core.errors import ConfigError, DataError, StaleData
from core.model import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    OptionContract,
    Order,
    OrderSide,
    Position,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    StrategyId,
)
from core.model.market import OptionQuote
from core.strategies.trident import (
    ExitReason,
    TridentConfig,
    TridentExitConfig,
    TridentManager,
    TridentPosition,
    TridentStrikes,
    UnderlyingSpec,
    choose,
    closing_legs,
    nearest_expiry,
    open_tridents,
    price_trident,
    round_strike,
    select_strikes,
    trident_legs,
)

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
SESSION = date(2025, 11, 3)
ONE_POINT = ChainConfig(strike_steps=((10_000.0, 1.0),))
QQQ = UnderlyingSpec("QQQ")
ACCOUNT = AccountId("acct-1")
TRIDENT = StrategyId("trident")


class FixedSpotChains:
    """Synthetic Black-Scholes chains at fixed spots; unknown underlyings have no chain."""

    def __init__(self, spots: dict[str, float]) -> None:
        self.spots = spots

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        if underlying not in self.spots:
            raise DataError(f"no chain for {underlying}")
        return [
            to_option_quote(q) for q in option_chain(underlying, at, self.spots[underlying], 0.2, ONE_POINT)
        ]


def qqq_strikes(spot: float = 621.3) -> TridentStrikes:
    picked = select_strikes(FixedSpotChains({"QQQ": spot}).option_chain("QQQ", T0), QQQ, SESSION, 45)
    assert isinstance(picked, TridentStrikes), picked
    return picked


def chain_quote_map(spot: float = 621.3, at: datetime = T0) -> dict[InstrumentId, Quote]:
    return {q.instrument_id: q for q in chain_quotes(option_chain("QQQ", at, spot, 0.2, ONE_POINT))}


def set_quote(
    quotes: dict[InstrumentId, Quote], contract: OptionContract, bid: str, ask: str, ts: datetime
) -> None:
    quotes[contract.id] = Quote(contract.id, Price(bid), Price(ask), ts)


# -- strikes and expiry ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spot", "rounding", "short"),
    [
        ("621.3", "2", "622"),  # the seed's example
        ("621.0", "2", "622"),  # halves round up
        ("622.9", "2", "622"),
        ("620.99", "2", "620"),
        ("623.0", "2", "624"),
        ("5822.4", "5", "5820"),
        ("5822.5", "5", "5825"),
    ],
)
def test_short_strike_is_spot_rounded_to_the_grid(spot: str, rounding: str, short: str) -> None:
    assert round_strike(Decimal(spot), Decimal(rounding)) == Decimal(short)


def test_seed_example_622_619_puts_and_622_625_calls() -> None:
    s = qqq_strikes(621.3)
    assert [str(c.strike) for c in (s.short_put, s.long_put)] == ["622", "619"]
    assert [str(c.strike) for c in (s.short_call, s.long_call)] == ["622", "625"]
    assert s.short_put.occ == "QQQ   251219P00622000"
    assert s.short_put.streamer_symbol == ".QQQ251219P622"
    assert s.label == "QQQ 2025-12-19 622P/619P 622C/625C"


def test_expiry_is_the_one_nearest_45_dte() -> None:
    s = qqq_strikes()
    # Fridays Dec 12 (39 DTE) and Dec 19 (46 DTE): 46 is nearer 45.
    assert s.expiry == date(2025, 12, 19) and s.dte == 46
    assert nearest_expiry([date(2025, 12, 12), date(2025, 12, 19)], SESSION, 40) == date(2025, 12, 12)


def test_expiry_tie_goes_to_the_later_expiry() -> None:
    before, after = SESSION + timedelta(days=44), SESSION + timedelta(days=46)
    assert nearest_expiry([after, before], SESSION, 45) == after
    assert nearest_expiry([SESSION], SESSION, 45) is None  # expiring today is not a candidate


def test_wing_width_and_rounding_are_configurable() -> None:
    chain = FixedSpotChains({"QQQ": 621.3}).option_chain("QQQ", T0)
    s = select_strikes(
        chain, UnderlyingSpec("QQQ", strike_rounding=Decimal(1), wing_width=Decimal(5)), SESSION, 45
    )
    assert isinstance(s, TridentStrikes)
    assert [str(c.strike) for c in (s.short_put, s.long_put, s.long_call)] == ["621", "616", "626"]


def test_unlisted_strikes_make_the_chain_unusable() -> None:
    coarse = [to_option_quote(q) for q in option_chain("QQQ", T0, 621.3, 0.2)]  # 5-point grid
    reason = select_strikes(coarse, QQQ, SESSION, 45)
    assert isinstance(reason, str) and "622P" in reason and "not listed" in reason


def test_first_underlying_with_a_usable_chain_wins() -> None:
    specs = (QQQ, UnderlyingSpec("SPX", strike_rounding=Decimal(5), wing_width=Decimal(5)))
    picked = choose(FixedSpotChains({"QQQ": 621.3, "SPX": 6822.0}), specs, T0, SESSION, 45)
    assert isinstance(picked, TridentStrikes) and picked.underlying == "QQQ"
    fallback = choose(FixedSpotChains({"SPX": 6822.0}), specs, T0, SESSION, 45)
    assert isinstance(fallback, TridentStrikes) and fallback.underlying == "SPX"
    strikes = [str(c.strike) for c in (fallback.long_put, fallback.short_put, fallback.long_call)]
    assert strikes == ["6815", "6820", "6825"]
    none = choose(FixedSpotChains({}), specs, T0, SESSION, 45)
    assert isinstance(none, list) and len(none) == 2 and "QQQ: no option chain" in none[0]


def test_synthetic_market_bridge_gives_domain_quotes() -> None:
    params = SymbolParams("QQQ", base_price=621.0, annual_vol=0.18, spread_bps=1.0, base_volume=50_000.0)
    market = SyntheticMarket(
        SyntheticMarketConfig(
            symbols=("QQQ",), start=date(2025, 10, 1), end=date(2025, 12, 31), param_overrides={"QQQ": params}
        ),
        ONE_POINT,
    )
    chain = SyntheticOptionChains(market).option_chain("QQQ", T0)
    assert chain and all(q.quote.instrument_id == q.contract.id and q.quote.ts == T0 for q in chain)
    raw = market.option_chain("QQQ", T0)[0]
    assert chain[0].quote.bid == Price(str(raw.bid)) and chain[0].theo == raw.theo
    seen: list[Quote] = []
    assert push((q.quote for q in chain), seen.append) == len(chain) == len(seen)
    picked = choose(SyntheticOptionChains(market), (QQQ,), T0, SESSION, 45)
    assert isinstance(picked, TridentStrikes) and picked.short_put.strike % 2 == 0


# -- pricing ---------------------------------------------------------------------------------
def test_pricing_computes_natural_and_mid_credit_per_spread_and_total() -> None:
    s = qqq_strikes()
    quotes = chain_quote_map()
    pricing, diag = price_trident(s, quotes, T0, TridentConfig())
    assert pricing is not None and diag.valid
    sp, lp, sc, lc = (quotes[c.id] for c in (s.short_put, s.long_put, s.short_call, s.long_call))
    put = sp.bid.value - lp.ask.value
    call = sc.bid.value - lc.ask.value
    assert diag.put is not None and diag.put.natural == put > 0
    assert diag.call is not None and diag.call.natural == call > 0
    assert pricing.natural == Price(2 * put + call)  # two put spreads, one call spread
    mid = 2 * (sp.mid.value - lp.mid.value) + sc.mid.value - lc.mid.value
    assert pricing.mid == Price(mid) and pricing.mid > pricing.natural
    assert [(g.side, g.ratio) for g in pricing.legs] == [
        (OrderSide.SELL, 2),
        (OrderSide.BUY, 2),
        (OrderSide.SELL, 1),
        (OrderSide.BUY, 1),
    ]


def test_negative_put_credit_is_refused_with_the_seed_diagnostics() -> None:
    s = qqq_strikes()
    quotes = chain_quote_map()
    set_quote(quotes, s.short_put, "14.00", "14.10", T0)  # below the long put's ask
    pricing, diag = price_trident(s, quotes, T0, TridentConfig())
    assert pricing is None and not diag.valid
    assert any("put credit $-1.60 is not positive" in p for p in diag.problems)
    text = "\n".join(diag.lines())
    assert "short_put: QQQ   251219P00622000 | bid=14.00, ask=14.10" in text
    assert "long_put: QQQ   251219P00619000 | bid=14.9, ask=15.6" in text
    assert "put_credit = 14.00 - 15.6 = $-1.60" in text
    assert diag.payload()["put_credit"] == "-1.60" and diag.payload()["legs"][0]["occ"] == s.short_put.occ


def test_negative_call_or_total_credit_is_refused() -> None:
    s = qqq_strikes()
    quotes = chain_quote_map()
    set_quote(quotes, s.long_call, "19.00", "19.60", T0)
    _, diag = price_trident(s, quotes, T0, TridentConfig())
    assert any(p.startswith("call credit") for p in diag.problems)
    assert any(p.startswith("total credit") for p in diag.problems) is False
    quotes = chain_quote_map()
    # Put positive, call so negative that the total is too.
    set_quote(quotes, s.long_call, "22.00", "23.00", T0)
    _, diag = price_trident(s, quotes, T0, TridentConfig())
    assert any(p.startswith("total credit") for p in diag.problems)


def test_stale_missing_and_crossed_quotes_are_refused() -> None:
    s = qqq_strikes()
    quotes = chain_quote_map()
    old = quotes[s.long_put.id]
    quotes[s.long_put.id] = replace(old, ts=T0 - timedelta(seconds=31))
    _, diag = price_trident(s, quotes, T0, TridentConfig())
    assert diag.problems == (f"long_put {s.long_put.occ} quote is 31.0s old (limit 30s)",)
    quotes[s.long_put.id] = replace(old, ts=T0 - timedelta(seconds=30))  # exactly the limit: fresh
    assert price_trident(s, quotes, T0, TridentConfig())[0] is not None
    assert price_trident(s, quotes, T0, TridentConfig(max_quote_age_s=10))[0] is None
    del quotes[s.short_call.id]
    _, diag = price_trident(s, quotes, T0, TridentConfig())
    assert f"no quote for short_call {s.short_call.occ}" in diag.problems and diag.call is None
    quotes = chain_quote_map()
    set_quote(quotes, s.long_call, "17.80", "17.70", T0)
    _, diag = price_trident(s, quotes, T0, TridentConfig())
    assert any("crossed" in p for p in diag.problems)


def test_unreachable_cache_counts_as_missing() -> None:
    def down(iid: InstrumentId, /) -> Quote | None:
        raise StaleData("cache down")

    class Down:
        get = staticmethod(down)

    pricing, diag = price_trident(qqq_strikes(), Down(), T0, TridentConfig())
    assert pricing is None and len(diag.problems) == 8


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="attempts"):
        TridentConfig(attempts=0)
    with pytest.raises(ConfigError, match="wing_width"):
        UnderlyingSpec("QQQ", wing_width=Decimal(0))
    with pytest.raises(ConfigError, match="profit_target"):
        TridentExitConfig(profit_target=Decimal("1.5"))


# -- exits -----------------------------------------------------------------------------------
def filled_entry(s: TridentStrikes, credit: str, at: datetime = T0) -> Order:
    order = Order.combo(
        ClientOrderId("rd-entry"),
        ACCOUNT,
        trident_legs(s, TridentConfig()),
        1,
        Price(credit),
        PriceEffect.CREDIT,
        at,
        strategy=TRIDENT,
    )
    return order.submitted(at).with_fill(Quantity(1), Price(credit), at)


def exit_quotes(
    s: TridentStrikes, at: datetime, put: tuple[str, str, str, str], call: tuple[str, str, str, str]
) -> dict[InstrumentId, Quote]:
    quotes: dict[InstrumentId, Quote] = {}
    set_quote(quotes, s.short_put, put[0], put[1], at)
    set_quote(quotes, s.long_put, put[2], put[3], at)
    set_quote(quotes, s.short_call, call[0], call[1], at)
    set_quote(quotes, s.long_call, call[2], call[3], at)
    return quotes


def manager(quotes: dict[InstrumentId, Quote], at: datetime, **cfg: object) -> TridentManager:
    return TridentManager(ACCOUNT, quotes, SimClock(at), TridentExitConfig(**cfg))  # type: ignore[arg-type]


def test_profit_target_closes_with_a_debit_combination() -> None:
    s = qqq_strikes()
    at = T0 + timedelta(days=7)
    position = TridentPosition(filled_entry(s, "4.00"), Price("4.00"))
    # Mid debit 2 × (1.05 − 0.45) + (1.25 − 0.55) = 1.90 ≤ 50 % of 4.00.
    quotes = exit_quotes(s, at, ("1.00", "1.10", "0.40", "0.50"), ("1.20", "1.30", "0.50", "0.60"))
    decision = manager(quotes, at).evaluate(position)
    assert decision is not None and decision.reason is ExitReason.PROFIT_TARGET
    assert decision.mid_debit == Price("1.90") and decision.natural_debit == Price("2.20")
    assert decision.captured == Decimal("0.525")
    sug = decision.suggestion
    assert sug.price_effect is PriceEffect.DEBIT and sug.legs == closing_legs(position.legs)
    assert [(g.side, g.ratio) for g in sug.legs] == [
        (OrderSide.BUY, 2),
        (OrderSide.SELL, 2),
        (OrderSide.BUY, 1),
        (OrderSide.SELL, 1),
    ]
    assert not sug.once_per_day and sug.quantity == Quantity(1)
    # Less than half captured: hold.
    assert manager(quotes, at, profit_target=Decimal("0.6")).evaluate(position) is None


def test_stop_loss_at_twice_the_credit() -> None:
    s = qqq_strikes()
    at = T0 + timedelta(days=7)
    position = TridentPosition(filled_entry(s, "2.00"), Price("2.00"))
    # Mid debit 2 × 2.50 + 1.00 = 6.00: a loss of 4.00 = 2 × credit.
    quotes = exit_quotes(s, at, ("5.00", "5.10", "2.50", "2.60"), ("2.00", "2.10", "1.00", "1.10"))
    decision = manager(quotes, at).evaluate(position)
    assert decision is not None and decision.reason is ExitReason.STOP_LOSS and decision.captured == -2
    assert manager(quotes, at, stop_loss_multiple=Decimal(3)).evaluate(position) is None


def test_close_at_21_dte_or_hold_through_expiry() -> None:
    s = qqq_strikes()
    position = TridentPosition(filled_entry(s, "4.00"), Price("4.00"))
    flat = ("2.00", "2.10", "1.20", "1.30"), ("1.40", "1.50", "0.80", "0.90")  # captured ~24 %
    for days, expected in ((24, None), (25, ExitReason.DAYS_TO_EXPIRY)):  # 46 − 25 = 21 DTE
        at = T0 + timedelta(days=days)
        decision = manager(exit_quotes(s, at, *flat), at).evaluate(position)
        assert (decision.reason if decision else None) is expected
    at = T0 + timedelta(days=45)
    assert manager(exit_quotes(s, at, *flat), at, close_at_dte=None).evaluate(position) is None
    after = T0 + timedelta(days=47)
    assert manager(exit_quotes(s, after, *flat), after).evaluate(position) is None  # expired: settled


def test_no_exit_decision_on_stale_quotes() -> None:
    s = qqq_strikes()
    at = T0 + timedelta(days=7)
    position = TridentPosition(filled_entry(s, "4.00"), Price("4.00"))
    quotes = exit_quotes(
        s, at - timedelta(minutes=1), ("1.00", "1.10", "0.40", "0.50"), ("1.20", "1.30", "0.50", "0.60")
    )
    assert manager(quotes, at).evaluate(position) is None


def test_open_tridents_are_filled_entries_still_held() -> None:
    s = qqq_strikes()
    entry = filled_entry(s, "4.00")
    positions = [
        Position(ACCOUNT, g.instrument, Decimal(g.side.sign * g.ratio), Price(1)) for g in entry.legs
    ]
    [found] = open_tridents([entry], positions, TRIDENT)
    assert found.credit == Price("4.00") and found.expiry == s.expiry and found.quantity == 1
    closed = [replace(p, net=Decimal(0)) for p in positions]
    assert open_tridents([entry], closed, TRIDENT) == []
    assert open_tridents([entry], positions, StrategyId("other")) == []
    working = Order.combo(
        ClientOrderId("rd-w"), ACCOUNT, entry.legs, 1, Price("4"), PriceEffect.CREDIT, T0, strategy=TRIDENT
    )
    assert open_tridents([working], positions, TRIDENT) == []
