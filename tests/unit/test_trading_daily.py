"""Daily signals act at the next session's open (the backtester's next-bar-open convention).

No Ray: the real ``SimExchange``, ``SqliteLedger`` and embedded Redis around ``AccountService``
(``tests/unit/test_trading_support.py``). A signal on session D's daily bar (complete at D's
close) gives no order at the close nor before D+1 opens, an order priced from D+1's first quote
when the bar is delivered there, none a session later, and never a second one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import redis

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from core.calendar import MarketCalendar
from core.model import InstrumentId, Price, Quote
from core.trading import AccountRuntimeConfig
from core.trading.freshness import daily_delivery, daily_signal_wait, delivered_session, signal_wait
from tests.unit.test_trading_support import (
    ACCOUNT,
    Desk,
    ScriptedStrategy,
    make_desk,
    minutes,
    redis_client,
    restart,
)

__all__ = ["redis_client"]
CAL = MarketCalendar()
SYMBOL = "SYNA"
D, NEXT, LATER = date(2025, 11, 5), date(2025, 11, 6), date(2025, 11, 7)
CONFIG = AccountRuntimeConfig(timeframes={"daily": "1d"}, intraday=False, entry_ttl=None)


@pytest.fixture(scope="module")
def market() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Minute and daily bars of one symbol, 2025-11-03 to 2025-11-07."""
    config = SyntheticMarketConfig(seed=7, symbols=(SYMBOL,), start=date(2025, 11, 3), end=LATER)
    minute = generate_bars(config)
    return minute, daily_bars(minute)


def _close(day: date) -> datetime:
    return CAL.session_open_close(day)[1]


def _bar(daily: pl.DataFrame, day: date) -> pl.DataFrame:
    return daily.filter(pl.col("ts") == _close(day))


def _first_minute(minute: pl.DataFrame, day: date) -> pl.DataFrame:
    return minutes(minute.filter(pl.col("ts") >= CAL.session_open_close(day)[0]))[0]


def _desk(root: Path, client: redis.Redis, daily: pl.DataFrame) -> tuple[Desk, ScriptedStrategy]:
    """An account whose strategy enters long on D's daily bar, warmed up with the bars before D."""
    bar = _bar(daily, D).row(0, named=True)
    strategy = ScriptedStrategy({(SYMBOL, bar["ts"]): (bar["close"] * 0.95, None)}, name="daily")
    desk = make_desk(root, client, [strategy], CONFIG, start=_close(D))
    assert desk.service.start().ready
    desk.service.warm_up(daily.filter(pl.col("ts") < _close(D)), "1d")
    return desk, strategy


def _quote_close(desk: Desk, daily: pl.DataFrame, day: date) -> None:
    """A fresh quote at ``day``'s close: the only thing that is missing then is an open market."""
    row = _bar(daily, day).row(0, named=True)
    desk.quotes.put_many(
        [Quote(InstrumentId(SYMBOL), Price(row["bid"]), Price(row["ask"]), desk.clock.now())]
    )


def test_delivery_and_warm_up_boundaries() -> None:
    assert daily_delivery(date(2025, 12, 30), CAL) == datetime(2025, 12, 31, 14, 31, tzinfo=UTC)
    assert daily_delivery(date(2025, 12, 26), CAL) == datetime(2025, 12, 29, 14, 31, tzinfo=UTC)  # Fri → Mon
    assert daily_delivery(date(2025, 12, 24), CAL) == datetime(2025, 12, 26, 14, 31, tzinfo=UTC)  # Christmas
    open_ = CAL.session_open_close(date(2025, 12, 31))[0]
    assert delivered_session(open_, CAL) == date(2025, 12, 29)  # 12-30's bar is still to come
    assert delivered_session(open_ + timedelta(minutes=1), CAL) == date(2025, 12, 30)
    assert delivered_session(datetime(2026, 1, 1, 18, tzinfo=UTC), CAL) == date(2025, 12, 30)


def test_daily_freshness_is_counted_in_sessions() -> None:
    bar_ts = _close(D)
    next_open, next_close = CAL.session_open_close(NEXT)
    assert "acts at the open of 2025-11-06" in str(daily_signal_wait(bar_ts, bar_ts, CAL))
    assert daily_signal_wait(bar_ts, next_open - timedelta(minutes=1), CAL) is not None
    assert daily_signal_wait(bar_ts, next_open + timedelta(minutes=1), CAL) is None
    assert daily_signal_wait(bar_ts, next_close - timedelta(minutes=1), CAL) is None
    assert "stale" in str(daily_signal_wait(bar_ts, next_close, CAL))
    # the intraday rule is unchanged: a minute bar's signal lives max_signal_age after it completed
    five = timedelta(minutes=5)
    assert signal_wait("1m", next_open, next_open + timedelta(minutes=6), CAL, five) is None
    assert signal_wait("1m", next_open, next_open + timedelta(minutes=7), CAL, five) is not None


def test_a_daily_signal_at_the_close_becomes_an_order_at_the_next_open(
    tmp_path: Path, redis_client: redis.Redis, market: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    minute, daily = market
    desk, strategy = _desk(tmp_path, redis_client, daily)
    _quote_close(desk, daily, D)
    at_close = desk.service.on_bars(_bar(daily, D), "1d")  # the bar is complete at D's close
    assert at_close.intents == 1 and not at_close.results
    assert any("acts at the open of 2025-11-06" in s for s in at_close.skipped)
    desk.clock.set(CAL.session_open_close(NEXT)[0] - timedelta(minutes=30))
    assert desk.service.monitor() == [], "pre-market: still waiting for the open"
    assert desk.venue_orders() == [] and desk.ledger.denials(ACCOUNT) == []

    first = _first_minute(minute, NEXT)
    desk.feed(first)  # 09:31: the venue and the quote cache see the first minute of D+1
    delivered = desk.service.on_bars(_bar(daily, D), "1d")  # the delivery at the first minute
    [result] = delivered.results
    order = result.order
    assert order is not None and order.created_at == CAL.session_open_close(NEXT)[0] + timedelta(minutes=1)
    quote = desk.quotes.get_many([SYMBOL])[InstrumentId(SYMBOL)]
    assert quote.ts == order.created_at, "priced from D+1's first quote, not D's close"
    assert order.limit_price is not None and quote.bid.value <= order.limit_price.value <= quote.ask.value
    assert len(desk.venue_orders()) == 1

    # idempotent: the monitor's re-offer, a re-sent delivery and a restarted service send nothing new
    assert desk.service.monitor() == []
    resent = desk.service.on_bars(_bar(daily, D), "1d")
    assert not resent.results and any("already positioned or working" in s for s in resent.skipped)
    again = restart(desk, [strategy])
    again.service.start()
    again.service.warm_up(daily.filter(pl.col("ts") <= _close(D)), "1d")
    again.service.on_bars(_bar(daily, D), "1d")
    assert [o.client_order_id for o in again.venue_orders()] == [order.client_order_id]
    for frame in minutes(minute.filter(pl.col("ts") > first["ts"][0]))[:5]:
        again.feed(frame)
    again.service.tick()
    assert [p.net for p in again.ledger.positions(ACCOUNT)] == [order.quantity.value], "filled at D+1"


def test_a_daily_signal_is_not_taken_a_session_late(
    tmp_path: Path, redis_client: redis.Redis, market: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    minute, daily = market
    desk, _ = _desk(tmp_path, redis_client, daily)
    desk.feed(_first_minute(minute, LATER))  # D's bar arrives only on D+2
    report = desk.service.on_bars(_bar(daily, D), "1d")
    assert not report.results and any("stale" in s for s in report.skipped)
    assert desk.venue_orders() == [] and desk.ledger.denials(ACCOUNT) == []
