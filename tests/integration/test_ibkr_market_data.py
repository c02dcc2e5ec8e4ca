"""The IBKR ``MarketData`` adapter against the fake TWS with a synthetic market behind it.

Chains come from reqSecDefOptParams and contract details, option quotes carry TWS's model
greeks (option computation ticks) as the entry, daily and exit snapshots need them, and bars
come from reqHistoricalData: each compared with what the market itself says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from adapters.market.synthetic.quotes_bridge import SyntheticOptionChains
from core.model import Price
from tests.contract.venues import IbkrDriver, Venue, ibkr_venue

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(
        SyntheticMarketConfig(seed=3, symbols=("SPY",), start=date(2025, 5, 1), end=date(2025, 6, 30))
    )


@pytest.fixture
def rig(market: SyntheticMarket) -> Iterator[Venue]:
    venue = ibkr_venue(market)
    yield venue
    assert venue.close is not None
    venue.close()


def data_of(venue: Venue) -> IbkrDriver:
    assert isinstance(venue.driver, IbkrDriver)
    return venue.driver


def test_chains_come_from_sec_def_params_and_contract_details(rig: Venue, market: SyntheticMarket) -> None:
    data = data_of(rig).data
    now = rig.driver.now()
    chain = SyntheticOptionChains(market).option_chain("SPY", now)
    expiries = sorted({q.contract.expiry for q in chain})
    assert data.expirations("SPY") == expiries
    listed = data.option_contracts("SPY", expiries[0])
    assert {c.id for c in listed} == {q.contract.id for q in chain if q.contract.expiry == expiries[0]}


def test_option_quotes_carry_the_model_greeks_of_the_feed(rig: Venue, market: SyntheticMarket) -> None:
    data = data_of(rig).data
    chain = {q.contract.id: q for q in SyntheticOptionChains(market).option_chain("SPY", rig.driver.now())}
    puts = [c for c in data.option_contracts("SPY", data.expirations("SPY")[1]) if c.right.value == "P"][:3]
    quotes = data.option_quotes(puts)
    assert [q.contract for q in quotes] == puts
    for q in quotes:
        expected = chain[q.contract.id]
        assert (q.quote.bid, q.quote.ask) == (expected.quote.bid, expected.quote.ask)
        got = (q.iv, q.delta, q.gamma, q.theta, q.vega, q.underlying_price)
        want = (
            expected.iv,
            expected.delta,
            expected.gamma,
            expected.theta,
            expected.vega,
            expected.underlying_price,
        )
        assert got == pytest.approx(want, rel=1e-12)
        assert q.delta < 0 < q.gamma and q.iv > 0
    update = data.poll()
    assert {o.contract for o in update.option_quotes} == set(puts)


def test_stock_quotes_follow_the_venue(rig: Venue) -> None:
    d = data_of(rig)
    d.data.subscribe_quotes([rig.equity.id])
    rig.driver.quote(rig.equity, "500.10", "500.20", size=300)
    rig.driver.settle()
    quote = d.data.latest_quote(rig.equity.id)
    assert quote is not None and (quote.bid, quote.ask, quote.bid_size) == (
        Price("500.10"),
        Price("500.20"),
        300,
    )
    assert [q.instrument_id for q in d.data.poll().quotes][-1] == rig.equity.id


def test_history_is_the_markets_bars(rig: Venue, market: SyntheticMarket) -> None:
    data = data_of(rig).data
    end = rig.driver.now()
    start = end - timedelta(minutes=30)
    frame = data.history(["SPY"], "1m", start, end)
    truth = market.bars("SPY", start, end)
    assert frame.height == truth.height > 0
    assert frame["close"].to_list() == truth["close"].to_list()
    assert frame["ts"].to_list() == truth["ts"].to_list()


def test_a_bar_subscription_delivers_each_closed_bar_once(rig: Venue, market: SyntheticMarket) -> None:
    data = data_of(rig).data
    start = rig.driver.now()
    data.subscribe_bars(["SPY"], "1m")
    assert data.poll().bars == ()
    rig.driver.advance(timedelta(minutes=3))
    bars = data.poll().bars
    truth = market.bars("SPY", start, start + timedelta(minutes=3))
    assert [(b.ts, b.close) for b in bars] == list(zip(truth["ts"], truth["close"], strict=True))
    assert len(bars) == 3 and data.poll().bars == ()
