"""Seed 002's Trident cycle on Tastytrade: the real ``tastytrade`` SDK against the fake
Tastytrade over loopback (REST, DXLink, account streamer), the cycle and execution service of
``core`` driven through the adapter's ports, a SQLite ledger. No Ray."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig
from adapters.brokers.tastytrade.config import TastytradeSettings
from adapters.brokers.tastytrade.data import TastytradeMarketData
from adapters.brokers.tastytrade.execution import TastytradeExecution
from adapters.brokers.tastytrade.session import TtSession
from adapters.brokers.tastytrade.tokens import TOKEN_INVALID_EVENT, gate_cycle
from adapters.ledger import SqliteLedger
from adapters.market.synthetic.options import ChainConfig, option_chain
from adapters.market.synthetic.quotes_bridge import to_option_quote
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.errors import DataError
from core.execution import ExecutionService
from core.model import (
    AccountId,
    InstrumentId,
    Money,
    OptionContract,
    OrderStatus,
    Price,
    PriceEffect,
    Quote,
)
from core.model.market import OptionQuote
from core.risk import RiskContext, RiskEngine, RiskLimits
from core.strategies.trident import CycleResult, CycleStatus, TridentConfig, TridentCycle
from simulators import tastytrade as tastytrade_simulator
from simulators.tastytrade import TastytradeSimulator

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
ACCOUNT = AccountId("acct-tt-trident")
ONE_POINT = ChainConfig(strike_steps=((10_000.0, 1.0),))
CAL = MarketCalendar()
LIMITS = RiskLimits(Money(50_000), 10, Money(500_000), Money(5_000))
SHORT_PUT, LONG_PUT = (
    OptionContract.from_occ("QQQ   251219P00622000"),
    OptionContract.from_occ("QQQ   251219P00619000"),
)
SHORT_CALL, LONG_CALL = (
    OptionContract.from_occ("QQQ   251219C00622000"),
    OptionContract.from_occ("QQQ   251219C00625000"),
)
LEGS = (SHORT_PUT, LONG_PUT, SHORT_CALL, LONG_CALL)
SEED_QUOTES = (("4.99", "5.07"), ("3.79", "3.87"), ("5.99", "6.07"), ("4.29", "4.37"))
"""Mid 2 × (5.03 − 3.83) + (6.03 − 4.33) = 4.10; natural 2 × (4.99 − 3.87) + (5.99 − 4.37) = 3.86."""


class QqqChain:
    """The synthetic market behind the fake: QQQ at 621.30, one-point strikes; no SPX."""

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        if underlying != "QQQ":
            raise DataError(f"no chain for {underlying}")
        return [to_option_quote(q) for q in option_chain("QQQ", at, 621.3, 0.2, ONE_POINT)]


class PortChain:
    """The cycle's ``ChainSource`` over the adapter's ``MarketData`` port (expiries near 45 DTE)."""

    def __init__(self, data: TastytradeMarketData) -> None:
        self.data = data

    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        near = [e for e in self.data.expirations(underlying) if 40 <= (e - at.date()).days <= 50]
        return self.data.option_quotes([c for e in near for c in self.data.option_contracts(underlying, e)])


@dataclass
class Rig:
    clock: SimClock
    exchange: SimExchange
    handle: TastytradeSimulator
    session: TtSession
    execution: TastytradeExecution
    data: TastytradeMarketData
    ledger: SqliteLedger
    service: ExecutionService
    sleeps: list[float] = field(default_factory=list)
    between_tries: list[list[tuple[OptionContract, str, str]]] = field(default_factory=list)

    def publish(self, quotes: Mapping[OptionContract, tuple[str, str]]) -> None:
        """New quotes at the venue; they reach the adapter over DXLink (waited for, not injected)."""
        before = self.clock.now() - timedelta(microseconds=1)
        now = self.clock.now()
        self.handle.quotes([Quote(c.id, Price(b), Price(a), now) for c, (b, a) in quotes.items()])
        assert self.data.wait_for([c.id for c in quotes], newer_than=before)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        if self.between_tries:
            self.publish({c: (b, a) for c, b, a in self.between_tries.pop(0)})

    def ctx(self, quotes: Mapping[InstrumentId, Quote]) -> RiskContext:
        now = self.clock.now()
        return RiskContext(
            now=now,
            market_open=CAL.is_open(now),
            balance=self.execution.balance(),
            positions={p.instrument.id: p for p in self.ledger.positions(ACCOUNT)},
            open_orders=self.ledger.orders(ACCOUNT, [s for s in OrderStatus if s.is_open]),
            daily_pnl=Money(0),
            quotes=dict(quotes),
        )

    def cycle(self) -> TridentCycle:
        return TridentCycle(
            self.service, self.ledger, PortChain(self.data), self.data, self.clock, self.ctx, CAL.is_open,
            TridentConfig(), sleep=self.sleep,
        )  # fmt: skip

    def run(self) -> CycleResult:
        return self.cycle().run()


def make_rig(tmp_path: Path, offset_cents: int) -> Rig:
    clock = SimClock(T0)
    exchange = SimExchange(
        SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock, is_open=CAL.is_open
    )
    exchange.open_account(ACCOUNT, Money(100_000))
    handle = tastytrade_simulator.start(exchange, clock=clock, account_id=ACCOUNT, market=QqqChain())
    settings = TastytradeSettings.from_credentials(
        handle.credentials.tastytrade, environ={}, backoff_initial=0.05, backoff_max=0.5, watchdog_s=0.6
    )
    session = TtSession(settings, clock).start()
    execution = TastytradeExecution(session, ACCOUNT, clock)
    execution.start()
    data = TastytradeMarketData(session, clock, is_open=CAL.is_open)
    ledger = SqliteLedger(tmp_path / "ledger.db", clock)
    service = ExecutionService(
        ACCOUNT, execution, ledger, RiskEngine(LIMITS), clock, offset_cents, sleep=lambda s: None
    )
    rig = Rig(clock, exchange, handle, session, execution, data, ledger, service)
    rig.handle.quotes(
        [Quote(c.id, Price(b), Price(a), T0) for c, (b, a) in zip(LEGS, SEED_QUOTES, strict=True)]
    )
    return rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = make_rig(tmp_path, offset_cents=4)
    yield r
    r.data.close()
    r.session.close()
    r.handle.close()
    r.ledger.close()


def test_mid_4_10_with_a_4c_offset_goes_out_at_4_06_as_one_four_leg_order(rig: Rig) -> None:
    result = rig.run()
    assert result.status is CycleStatus.SUBMITTED, result.reason
    assert result.attempts == 1 and rig.sleeps == []
    assert result.suggestion is not None
    assert (result.suggestion.mid, result.suggestion.natural) == (Price("4.10"), Price("3.86"))
    order = result.order
    assert (
        order is not None and order.limit_price == Price("4.06") and order.price_effect is PriceEffect.CREDIT
    )
    assert [(g.instrument, g.ratio) for g in order.legs] == [
        (SHORT_PUT, 2),
        (LONG_PUT, 2),
        (SHORT_CALL, 1),
        (LONG_CALL, 1),
    ]
    # What the broker holds: one order, all four legs, the credit price, our id as external identifier.
    [placed] = rig.handle.fake.call(lambda: [rig.handle.fake.order_json(i) for i in rig.handle.fake.orders])
    assert (placed["price"], placed["price-effect"], placed["status"]) == ("4.06", "Credit", "Live")
    assert placed["external-identifier"] == str(order.client_order_id)
    assert [(leg["symbol"], leg["action"], leg["quantity"]) for leg in placed["legs"]] == [
        ("QQQ   251219P00622000", "Sell to Open", "2"),
        ("QQQ   251219P00619000", "Buy to Open", "2"),
        ("QQQ   251219C00622000", "Sell to Open", "1"),
        ("QQQ   251219C00625000", "Buy to Open", "1"),
    ]
    assert rig.clock.now() == T0 + timedelta(seconds=3)  # the seed's stabilisation, on the clock


def test_second_cycle_the_same_day_skips(rig: Rig) -> None:
    first = rig.run()
    assert first.status is CycleStatus.SUBMITTED
    rig.clock.advance(timedelta(minutes=15))
    second = rig.run()
    assert second.status is CycleStatus.SKIPPED_TRADED_TODAY and second.attempts == 0
    assert rig.handle.place_orders == 1


def test_a_50c_offset_is_floored_at_natural_and_fills(tmp_path: Path) -> None:
    r = make_rig(tmp_path, offset_cents=50)
    try:
        result = r.run()
        assert result.order is not None and result.order.limit_price == Price("3.86")  # not 3.60
        r.clock.advance(timedelta(seconds=1))
        r.publish(dict(zip(LEGS, SEED_QUOTES, strict=True)))  # natural 3.86 reaches the limit
        r.handle.settle()
        r.service.process_events()
        filled = r.ledger.get_order(result.order.client_order_id)
        assert filled is not None and filled.status is OrderStatus.FILLED
        assert filled.avg_fill_price == Price("3.86")
        nets = {p.instrument.id: p.net for p in r.ledger.positions(ACCOUNT)}
        assert [nets[c.id] for c in LEGS] == [-2, 2, -1, 1]
    finally:
        r.data.close()
        r.session.close()
        r.handle.close()
        r.ledger.close()


def test_a_negative_credit_is_retried_5s_later_on_fresh_quotes_from_the_feed(rig: Rig) -> None:
    rig.data.subscribe_quotes([c.id for c in LEGS])
    rig.clock.advance(timedelta(seconds=1))
    # A bad print on the feed: the short put quoted below the long put (put credit negative).
    rig.handle.feed_quote(Quote(SHORT_PUT.id, Price("3.00"), Price("3.08"), rig.clock.now()))
    assert rig.data.wait_for([SHORT_PUT.id], newer_than=T0)
    assert rig.data.latest_quote(SHORT_PUT.id).bid == Price("3.00")  # type: ignore[union-attr]
    rig.between_tries.append([(c, b, a) for c, (b, a) in zip(LEGS, SEED_QUOTES, strict=True)])
    result = rig.run()
    assert result.status is CycleStatus.SUBMITTED, result.reason
    assert result.attempts == 2 and rig.sleeps == [5.0]
    bad, good = result.diagnostics
    assert any("is not positive" in p for p in bad.problems) and good.valid
    assert result.order is not None and result.order.limit_price == Price("4.06")


def test_crossed_and_stale_quotes_are_refused_then_retried(rig: Rig) -> None:
    rig.data.subscribe_quotes([c.id for c in LEGS])
    rig.clock.advance(timedelta(seconds=1))
    rig.handle.feed_quote(Quote(LONG_CALL.id, Price("4.50"), Price("4.40"), rig.clock.now()))  # crossed
    assert rig.data.wait_for([LONG_CALL.id], newer_than=T0)
    rig.clock.advance(timedelta(seconds=40))  # every other leg is now 40 s old (limit 30 s)
    rig.between_tries.append([(c, b, a) for c, (b, a) in zip(LEGS, SEED_QUOTES, strict=True)])
    result = rig.run()
    assert result.status is CycleStatus.SUBMITTED, result.reason
    problems = " ".join(result.diagnostics[0].problems)
    assert "crossed" in problems and "old (limit 30s)" in problems
    assert result.attempts == 2


def test_an_expired_token_skips_the_account_records_and_alerts(rig: Rig) -> None:
    rig.handle.expire_tokens()
    alerts: list[str] = []
    result = gate_cycle(rig.execution, rig.ledger, rig.run, alerts.append)
    assert result.status is CycleStatus.FAILED and "token" in result.reason
    assert rig.execution.token_valid is False and rig.execution.ready is False
    assert alerts and any("token invalid" in a for a in rig.session.alerts)
    [event] = rig.ledger.events(account_id=ACCOUNT, kind=TOKEN_INVALID_EVENT)
    assert "re-authorize" in event.payload["reason"]
    assert rig.handle.place_orders == 0 and rig.ledger.orders(ACCOUNT) == []
