from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidSymbol, InvalidValue
from core.model import Equity, OptionContract, OptionRight, instrument_from_id


def test_seed_example_symbols() -> None:
    put = OptionContract("QQQ", date(2025, 12, 19), OptionRight.PUT, 622)
    assert put.occ == "QQQ   251219P00622000"
    assert put.occ_unpadded == "QQQ251219P00622000"
    assert put.streamer_symbol == ".QQQ251219P622"
    assert put.multiplier == 100
    assert OptionContract.from_occ("QQQ   251219P00622000") == put
    assert OptionContract.from_occ("QQQ251219P00622000") == put
    assert OptionContract.from_streamer_symbol(".QQQ251219P622") == put


def test_decimal_strikes_and_spxw_root() -> None:
    c = OptionContract.from_occ("SPXW  251219C06225500")
    assert c.root == "SPXW" and c.underlying == "SPX" and c.strike == Decimal("6225.5")
    assert c.streamer_symbol == ".SPXW251219C6225.5"
    assert c.is_cash_settled
    half = OptionContract("QQQ", date(2025, 12, 19), "P", Decimal("622.5"))
    assert half.occ_unpadded == "QQQ251219P00622500"
    assert OptionContract.from_streamer_symbol(".QQQ251219P622.5") == half


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "QQQ 251219P00622000",
        "QQQ   251319P00622000",
        "QQQ   251219X00622000",
        "QQQ   251219P0062200",
        "TOOLONGROOT251219P00622000",
        "qqq251219P00622000",
    ],
)
def test_malformed_occ_shows_symbol(bad: str) -> None:
    with pytest.raises(InvalidSymbol) as err:
        OptionContract.from_occ(bad)
    assert repr(bad)[1:-1][:6] in str(err.value) or bad == ""


def test_bad_strikes_rejected() -> None:
    with pytest.raises(InvalidValue):
        OptionContract("QQQ", date(2025, 12, 19), "P", Decimal("622.0005"))
    with pytest.raises(InvalidValue):
        OptionContract("QQQ", date(2025, 12, 19), "P", 0)


roots = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)
expiries = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
strikes = st.integers(min_value=1, max_value=99_999_999).map(lambda n: Decimal(n) / 1000)


@given(roots, expiries, st.sampled_from(list(OptionRight)), strikes)
def test_occ_round_trips(root: str, expiry: date, right: OptionRight, strike: Decimal) -> None:
    c = OptionContract(root, expiry, right, strike)
    assert len(c.occ) == 21
    assert OptionContract.from_occ(c.occ) == c
    assert OptionContract.from_occ(c.occ_unpadded) == c
    assert OptionContract.from_streamer_symbol(c.streamer_symbol) == c
    assert instrument_from_id(c.id) == c


def test_equity_ids() -> None:
    assert instrument_from_id("AAPL") == Equity("AAPL")
    with pytest.raises(InvalidSymbol):
        Equity("not a ticker")
