"""The synthetic market: determinism, calendar, invariants, the edges and option chains."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

import numpy as np
import polars as pl
import pytest

from adapters.market.synthetic import (
    SyntheticMarket,
    SyntheticMarketConfig,
    daily_bars,
    generate_bars,
    is_third_friday,
    option_quotes,
)
from adapters.store.schema import BAR_SCHEMA, validate_bars
from core.calendar import NEW_YORK
from core.errors import DataError, InvalidValue
from core.model.instruments import OptionContract, OptionRight

WINTER = SyntheticMarketConfig(
    seed=11, symbols=("AAA", "BBB"), start=date(2025, 11, 17), end=date(2025, 12, 31)
)


@pytest.fixture(scope="module")
def winter() -> pl.DataFrame:
    return generate_bars(WINTER)


def _config(**kw: object) -> SyntheticMarketConfig:
    base: dict[str, object] = {"symbols": ("AAA", "BBB"), "start": date(2025, 3, 3), "end": date(2025, 3, 14)}
    base.update(kw)
    return SyntheticMarketConfig(**base)  # type: ignore[arg-type]


def test_schema_and_validation(winter: pl.DataFrame) -> None:
    assert dict(winter.schema) == BAR_SCHEMA
    validate_bars(winter, "1m")
    validate_bars(daily_bars(winter), "1d")


def test_same_seed_same_bytes_different_seed_differs(tmp_path) -> None:
    a, b = generate_bars(_config(seed=5)), generate_bars(_config(seed=5))
    a.write_parquet(tmp_path / "a.parquet")
    b.write_parquet(tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert a.equals(b)
    assert not a.equals(generate_bars(_config(seed=6)))


def test_symbol_stream_is_independent_of_the_universe() -> None:
    alone = generate_bars(_config(symbols=("BBB",)))
    together = generate_bars(_config()).filter(pl.col("symbol") == "BBB")
    assert alone.equals(together)


def test_no_bars_on_holidays_and_short_early_close(winter: pl.DataFrame) -> None:
    local = winter.with_columns(pl.col("ts").dt.convert_time_zone(NEW_YORK.key).alias("local"))
    days = set(local.get_column("local").dt.date().to_list())
    assert date(2025, 12, 25) not in days and date(2025, 11, 27) not in days
    assert not any(d.weekday() >= 5 for d in days)
    per_day = local.group_by("symbol", pl.col("local").dt.date().alias("d")).agg(
        pl.len(), pl.col("local").min().alias("first"), pl.col("local").max().alias("last")
    )
    early = per_day.filter(pl.col("d") == date(2025, 11, 28))
    assert early.get_column("len").to_list() == [210, 210]
    assert {t.time() for t in early.get_column("last")} == {time(12, 59)}  # last bar ends 13:00
    full = per_day.filter(pl.col("d") == date(2025, 12, 1))
    assert full.get_column("len").to_list() == [390, 390]
    assert {t.time() for t in full.get_column("first")} == {time(9, 30)}


def test_ohlc_and_quote_invariants(winter: pl.DataFrame) -> None:
    bad = winter.filter(
        (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("bid") >= pl.col("ask"))
        | (pl.col("bid") > pl.col("close"))
        | (pl.col("ask") < pl.col("close"))
        | (pl.col("volume") <= 0)
    )
    assert bad.is_empty()


def test_intraday_volume_is_u_shaped(winter: pl.DataFrame) -> None:
    local = winter.filter(pl.col("ts").dt.convert_time_zone(NEW_YORK.key).dt.date() != date(2025, 11, 28))
    clock = pl.col("ts").dt.convert_time_zone(NEW_YORK.key)
    minute = local.with_columns(
        (clock.dt.hour().cast(pl.Int32) * 60 + clock.dt.minute().cast(pl.Int32)).alias("m")
    )

    def mean(lo: int, hi: int, column: str = "volume", frame: pl.DataFrame = minute) -> float:
        picked = frame.filter(pl.col("m").is_between(lo, hi, closed="left"))
        return float(picked.select(pl.col(column).mean()).item())

    midday = mean(12 * 60, 14 * 60)
    assert mean(570, 600) > 1.5 * midday  # 09:30-10:00
    assert mean(930, 960) > 1.5 * midday  # 15:30-16:00
    spread = minute.with_columns(((pl.col("ask") - pl.col("bid")) / pl.col("close")).alias("s"))
    assert mean(570, 585, "s", spread) > mean(720, 840, "s", spread)  # relative spreads


def _lag1_autocorr(frame: pl.DataFrame) -> float:
    """Lag-1 autocorrelation of 1-minute log returns within sessions, each session's returns
    standardised (regimes) and winsorised at 4 sd (jumps) so the statistic is robust."""
    day = [pl.col("symbol"), pl.col("ts").dt.date()]
    r = (
        frame.sort("symbol", "ts")
        .with_columns(pl.col("close").log().diff().over(day).alias("r"))
        .with_columns(((pl.col("r") / pl.col("r").std()).over(day)).clip(-4, 4).alias("z"))
        .with_columns(pl.col("z").shift(1).over(day).alias("lag"))
        .drop_nulls(["z", "lag"])
    )
    return float(np.corrcoef(r["z"].to_numpy(), r["lag"].to_numpy())[0, 1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_intraday_mean_reversion_edge(seed: int) -> None:
    on = _lag1_autocorr(generate_bars(_config(seed=seed)))
    off = _lag1_autocorr(generate_bars(_config(seed=seed, edge_enabled=False)))
    # ~7,700 returns: the standard error is about 0.011.
    assert on < -0.04
    assert on < off - 0.04
    assert abs(off) < 0.04


def test_trend_edge_persists_daily_drift() -> None:
    def momentum(edge: bool) -> float:
        cfg = SyntheticMarketConfig(
            seed=3,
            symbols=tuple(f"T{i}" for i in range(8)),
            start=date(2024, 1, 2),
            end=date(2025, 12, 31),
            trend_strength=1.0,
            edge_enabled=edge,
        )
        d = daily_bars(generate_bars(cfg)).with_columns(
            pl.col("close").log().diff().over("symbol").alias("r")
        )
        d = d.with_columns(
            pl.col("r").rolling_sum(10).over("symbol").sign().alias("past"),
            pl.col("r").shift(-1).over("symbol").alias("next"),
        ).drop_nulls(["past", "next"])
        return float(np.corrcoef(d["past"].to_numpy(), d["next"].to_numpy())[0, 1])

    on, off = momentum(True), momentum(False)
    assert on > 0.1
    assert abs(off) < 0.05


def test_edge_off_keeps_the_same_noise_regimes_and_volume() -> None:
    on, off = generate_bars(_config()), generate_bars(_config(edge_enabled=False))
    assert on["volume"].equals(off["volume"])
    assert on["ts"].equals(off["ts"])


def test_daily_bars_aggregate_sessions(winter: pl.DataFrame) -> None:
    daily = daily_bars(winter).filter(pl.col("symbol") == "AAA")
    day = winter.filter(
        (pl.col("symbol") == "AAA")
        & (pl.col("ts").dt.convert_time_zone(NEW_YORK.key).dt.date() == date(2025, 11, 28))
    )
    row = daily.filter(pl.col("ts") == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)).row(0, named=True)
    assert row["open"] == day["open"][0] and row["close"] == day["close"][-1]
    assert row["high"] == day["high"].max() and row["low"] == day["low"].min()
    assert row["volume"] == day["volume"].sum()
    assert daily.height == len(set(winter.filter(pl.col("symbol") == "AAA")["ts"].dt.date().to_list()))


def test_config_rejects_nonsense() -> None:
    with pytest.raises(InvalidValue):
        SyntheticMarketConfig(start=date(2025, 2, 1), end=date(2025, 1, 1))
    with pytest.raises(InvalidValue):
        SyntheticMarketConfig(p_low_to_high=1.5)


# -- the market object and option chains --------------------------------------------------
AT = datetime(2025, 3, 10, 15, 0, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(
        SyntheticMarketConfig(seed=4, symbols=("AAA", "BBB"), start=date(2025, 3, 3), end=date(2025, 3, 31))
    )


def test_quote_at_is_the_last_closed_bar(market: SyntheticMarket) -> None:
    q = market.quote_at("AAA", AT)
    assert q.ts == datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    bar = market.bars(
        "AAA", datetime(2025, 3, 10, 14, 59, tzinfo=UTC), datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    )
    assert (q.bid, q.ask) == (bar["bid"][0], bar["ask"][0])
    # Overnight the last quote is the previous close's.
    night = market.quote_at("AAA", datetime(2025, 3, 11, 3, 0, tzinfo=UTC))
    assert night.ts == datetime(2025, 3, 10, 20, 0, tzinfo=UTC)
    with pytest.raises(DataError):
        market.quote_at("AAA", datetime(2025, 3, 3, 14, 30, tzinfo=UTC))
    with pytest.raises(DataError):
        market.quote_at("ZZZ", AT)


def test_bars_by_range(market: SyntheticMarket) -> None:
    day = market.bars("BBB", date(2025, 3, 10), date(2025, 3, 10))
    assert day.height == 390
    assert market.bars("BBB", date(2025, 3, 10), date(2025, 3, 14), timeframe="1d").height == 5


def test_chain_is_deterministic(market: SyntheticMarket) -> None:
    again = SyntheticMarket(market.config)
    assert market.option_chain("AAA", AT) == again.option_chain("AAA", AT)


def test_quotes_of_chosen_contracts_equal_the_chain_s(market: SyntheticMarket) -> None:
    chain = market.option_chain("AAA", AT)
    spot, vol = market.spot_and_vol("AAA", AT)
    chosen = chain[::7]  # every expiry, both rights, strikes across the grid
    assert option_quotes([q.contract for q in chosen], AT, spot, vol, market.chain_config) == chosen
    expired = OptionContract("AAA", date(2025, 3, 7), OptionRight.CALL, "100")  # settled before AT
    beyond = OptionContract("AAA", date(2026, 3, 20), OptionRight.CALL, "100")  # past the horizon
    assert option_quotes([expired, beyond, chosen[0].contract], AT, spot, vol, market.chain_config) == [
        chosen[0]
    ]


def test_chain_expiries_parity_spreads_skew_greeks(market: SyntheticMarket) -> None:
    chain = market.option_chain("AAA", AT)
    spot, _ = market.spot_and_vol("AAA", AT)
    expiries = {q.contract.expiry for q in chain}
    assert date(2025, 3, 14) in expiries  # weekly
    assert date(2025, 3, 21) in expiries and is_third_friday(date(2025, 3, 21))  # monthly
    assert date(2025, 4, 17) in expiries  # Good Friday 2025-04-18: expires the Thursday
    assert {q.monthly for q in chain} == {True, False}
    assert all(q.bid < q.theo < q.ask and q.bid >= 0 for q in chain)

    pairs: dict[tuple[date, float], dict[OptionRight, object]] = {}
    for q in chain:
        pairs.setdefault((q.contract.expiry, float(q.contract.strike)), {})[q.contract.right] = q
    for (_expiry, strike), both in pairs.items():
        call, put = both[OptionRight.CALL], both[OptionRight.PUT]
        t = call.theo - put.theo  # type: ignore[attr-defined]
        # parity with the chain's own discounting: C - P = S - K e^{-rT}
        years = (datetime.combine(_expiry, time(20, 0), tzinfo=UTC) - AT).total_seconds() / (365 * 86400)
        assert t == pytest.approx(spot - strike * math.exp(-0.04 * years), abs=1e-6)

    first = min(expiries)
    near = [q for q in chain if q.contract.expiry == date(2025, 3, 21)]
    atm = min(near, key=lambda q: abs(float(q.contract.strike) - spot))
    otm_put = min(
        (q for q in near if q.contract.right is OptionRight.PUT and float(q.contract.strike) < 0.93 * spot),
        key=lambda q: abs(float(q.contract.strike) - 0.9 * spot),
    )
    assert otm_put.iv > atm.iv
    for q in chain:
        if q.contract.right is OptionRight.CALL:
            assert 0 <= q.delta <= 1
        else:
            assert -1 <= q.delta <= 0
        assert q.gamma >= 0 and q.vega >= 0 and q.theta <= 1e-9
    assert first >= AT.date()
