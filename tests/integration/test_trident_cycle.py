"""The Trident cycle end to end: synthetic chain → Redis quote cache and the simulated exchange,
SQLite ledger, risk engine and ``ExecutionService``. No Ray."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.cache import EmbeddedRedis, RedisQuoteCache, client_from_url
from adapters.ledger import SqliteLedger
from adapters.market.synthetic.options import ChainConfig, option_chain
from adapters.market.synthetic.quotes_bridge import chain_quotes, push, to_option_quote
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.errors import DataError
from core.execution import ExecutionOutcome, ExecutionService, entry_limit_credit
from core.model import (
    AccountId,
    InstrumentId,
    Money,
    OptionContract,
    OrderSide,
    OrderStatus,
    Price,
    PriceEffect,
    Quote,
)
from core.model.market import OptionQuote
from core.risk import RiskContext, RiskEngine, RiskLimits
from core.strategies.trident import (
    NO_VALID_PRICING_EVENT,
    CycleResult,
    CycleStatus,
    ExitReason,
    TridentConfig,
    TridentCycle,
    TridentManager,
    TridentStrikes,
)

T0 = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
ACCOUNT = AccountId("acct-trident")
ONE_POINT = ChainConfig(strike_steps=((10_000.0, 1.0),))
SPOT = 621.3
LIMITS = RiskLimits(
    max_risk_per_trade=Money(50_000),
    max_open_positions=10,
    max_exposure_per_symbol=Money(500_000),
    daily_loss_limit=Money(5_000),
)
CAL = MarketCalendar()


class FixedSpotChains:
    def option_chain(self, underlying: str, at: datetime, /) -> list[OptionQuote]:
        if underlying != "QQQ":
            raise DataError(f"no chain for {underlying}")
        return [to_option_quote(q) for q in option_chain("QQQ", at, SPOT, 0.2, ONE_POINT)]


@dataclass
class Desk:
    clock: SimClock
    exchange: SimExchange
    client: SimExecutionClient
    cache: RedisQuoteCache
    ledger: SqliteLedger
    service: ExecutionService
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        if self.on_sleep is not None:
            self.on_sleep()

    def publish_chain(self) -> None:
        """The streaming feed: the whole chain, now, into the venue and the cache."""
        quotes = chain_quotes(option_chain("QQQ", self.clock.now(), SPOT, 0.2, ONE_POINT))
        push(quotes, self.exchange.on_quote, self.cache.put)

    def set_quote(self, contract: OptionContract, bid: str, ask: str, venue: bool = True) -> None:
        q = Quote(contract.id, Price(bid), Price(ask), self.clock.now())
        self.cache.put(q)
        if venue:
            self.exchange.on_quote(q)

    def ctx(self, quotes: Mapping[InstrumentId, Quote]) -> RiskContext:
        now = self.clock.now()
        return RiskContext(
            now=now,
            market_open=CAL.is_open(now),
            balance=self.client.balance(),
            positions={p.instrument.id: p for p in self.ledger.positions(ACCOUNT)},
            open_orders=self.ledger.orders(ACCOUNT, [s for s in OrderStatus if s.is_open]),
            daily_pnl=Money(0),
            quotes=dict(quotes),
        )

    def cycle(self, config: TridentConfig | None = None) -> TridentCycle:
        return TridentCycle(
            self.service,
            self.ledger,
            FixedSpotChains(),
            self.cache,
            self.clock,
            self.ctx,
            CAL.is_open,
            config,
            sleep=self.sleep,
        )

    def run(self, config: TridentConfig | None = None) -> CycleResult:
        return self.cycle(config).run()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with EmbeddedRedis(tmp_path / "raydesk.rdb") as server:
        yield server.url


def make_desk(tmp_path: Path, redis_url: str, offset_cents: int = 4, limits: RiskLimits = LIMITS) -> Desk:
    clock = SimClock(T0)
    exchange = SimExchange(
        SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False), clock, is_open=CAL.is_open
    )
    exchange.open_account(ACCOUNT, Money(100_000))
    client = SimExecutionClient(exchange, ACCOUNT)
    ledger = SqliteLedger(tmp_path / "ledger.db", clock)
    cache = RedisQuoteCache(client_from_url(redis_url), clock)
    service = ExecutionService(
        ACCOUNT, client, ledger, RiskEngine(limits), clock, offset_cents, sleep=lambda s: None
    )
    desk = Desk(clock, exchange, client, cache, ledger, service)
    desk.publish_chain()
    return desk


@pytest.fixture
def desk(tmp_path: Path, redis_url: str) -> Iterator[Desk]:
    d = make_desk(tmp_path, redis_url)
    yield d
    d.ledger.close()


def strikes_of(result: CycleResult) -> TridentStrikes:
    strikes = result.diagnostics[-1].strikes
    assert strikes is not None
    return strikes


# -- the happy path --------------------------------------------------------------------------
def test_cycle_submits_one_four_leg_credit_order_at_mid_minus_offset(desk: Desk) -> None:
    result = desk.run()
    assert result.status is CycleStatus.SUBMITTED, result.reason
    assert result.attempts == 1 and desk.sleeps == []
    s = strikes_of(result)
    assert s.label == "QQQ 2025-12-19 622P/619P 622C/625C" and s.dte == 46
    order = result.order
    assert order is not None and order.status is OrderStatus.ACCEPTED
    assert order.price_effect is PriceEffect.CREDIT and order.quantity.value == 1
    assert [(g.instrument, g.side, g.ratio) for g in order.legs] == [
        (s.short_put, OrderSide.SELL, 2),
        (s.long_put, OrderSide.BUY, 2),
        (s.short_call, OrderSide.SELL, 1),
        (s.long_call, OrderSide.BUY, 1),
    ]
    sug = result.suggestion
    assert sug is not None and sug.once_per_day and sug.mid is not None and sug.natural is not None
    # The offset is applied once, by the execution service: mid 4.175 − 0.04 → 4.14 (half-even).
    assert sug.mid == Price("4.175") and sug.natural == Price("1.90")
    assert order.limit_price == entry_limit_credit(sug.mid, sug.natural, 4) == Price("4.14")
    assert sug.max_risk == Money("410.00")  # worst case: both put spreads (6.00) − 1.90 natural
    assert desk.ledger.get_order(order.client_order_id) == order


def test_second_cycle_the_same_day_is_skipped(desk: Desk) -> None:
    first = desk.run()
    assert first.status is CycleStatus.SUBMITTED
    desk.clock.advance(timedelta(minutes=15))
    desk.publish_chain()
    second = desk.run()
    assert second.status is CycleStatus.SKIPPED_TRADED_TODAY and second.attempts == 0
    assert second.order is not None and first.order is not None
    assert second.order.client_order_id == first.order.client_order_id
    assert len(desk.client.open_orders()) == 1


def test_a_cancelled_trade_does_not_block_the_next_cycle(desk: Desk) -> None:
    first = desk.run()
    assert first.order is not None
    desk.client.cancel(first.order.client_order_id)
    desk.service.process_events()
    desk.clock.advance(timedelta(minutes=15))
    desk.publish_chain()
    second = desk.run()
    assert second.status is CycleStatus.SUBMITTED and second.order is not None
    assert second.order.client_order_id != first.order.client_order_id


def test_market_closed_is_skipped(desk: Desk) -> None:
    desk.clock.set(datetime(2025, 11, 3, 22, 0, tzinfo=UTC))  # 17:00 New York
    desk.publish_chain()
    result = desk.run()
    assert result.status is CycleStatus.SKIPPED_MARKET_CLOSED and result.attempts == 0
    assert desk.client.open_orders() == []


# -- retries ---------------------------------------------------------------------------------
def test_negative_credit_is_retried_after_five_seconds(desk: Desk) -> None:
    chain = FixedSpotChains().option_chain("QQQ", T0)
    short_put = next(q.contract for q in chain if q.contract.occ == "QQQ   251219P00622000")
    desk.set_quote(short_put, "14.00", "14.10", venue=False)  # a bad tick in the cache only
    desk.on_sleep = desk.publish_chain  # the feed delivers good quotes while the cycle waits
    result = desk.run()
    assert result.status is CycleStatus.SUBMITTED, result.reason
    assert result.attempts == 2 and desk.sleeps == [5.0]
    bad, good = result.diagnostics
    assert any("put credit $-1.60 is not positive" in p for p in bad.problems) and good.valid


def test_stale_quotes_are_retried(desk: Desk) -> None:
    desk.clock.advance(timedelta(seconds=45))  # the cached chain is now 45 s old
    desk.on_sleep = desk.publish_chain
    result = desk.run()
    assert result.status is CycleStatus.SUBMITTED and result.attempts == 2
    assert all("45.0s old (limit 30s)" in p for p in result.diagnostics[0].problems)
    assert len(result.diagnostics[0].problems) == 4


def test_three_failures_mean_no_trade_and_are_recorded(desk: Desk) -> None:
    desk.clock.advance(timedelta(minutes=5))  # nothing refreshes the cache
    result = desk.run()
    assert result.status is CycleStatus.NO_VALID_PRICING and result.order is None
    assert result.attempts == 3 and desk.sleeps == [5.0, 5.0]
    assert "no valid pricing after 3 attempts" in result.reason
    assert desk.client.open_orders() == [] and desk.ledger.orders(ACCOUNT) == []
    [event] = desk.ledger.events(account_id=ACCOUNT, kind=NO_VALID_PRICING_EVENT)
    assert event.payload["attempts"] == 3 and len(event.payload["diagnostics"]) == 3
    assert event.payload["diagnostics"][0]["legs"][0]["occ"] == "QQQ   251219P00622000"
    # Nothing holds the guard: a later cycle with fresh data trades.
    desk.publish_chain()
    assert desk.run().status is CycleStatus.SUBMITTED


def test_attempts_and_delay_are_configurable(desk: Desk) -> None:
    desk.clock.advance(timedelta(minutes=5))
    result = desk.run(TridentConfig(attempts=5, retry_delay_s=1.5))
    assert result.attempts == 5 and desk.sleeps == [1.5] * 4


# -- risk ------------------------------------------------------------------------------------
def test_risk_denial_is_recorded(tmp_path: Path, redis_url: str) -> None:
    d = make_desk(tmp_path, redis_url, limits=RiskLimits(Money(300), 10, Money(500_000), Money(5_000)))
    result = d.run()
    assert result.status is CycleStatus.DENIED and "max_risk_per_trade" in result.reason
    [denial] = d.ledger.denials(ACCOUNT)
    assert denial.rule == "max_risk_per_trade" and d.client.open_orders() == []
    d.ledger.close()


# -- fills and the offset floor --------------------------------------------------------------
def test_offset_wider_than_the_spread_is_floored_at_natural_and_fills(tmp_path: Path, redis_url: str) -> None:
    d = make_desk(tmp_path, redis_url, offset_cents=500)  # mid − 5.00 would be below natural
    result = d.run()
    assert result.order is not None and result.suggestion is not None
    assert result.order.limit_price == result.suggestion.natural == Price("1.90")
    d.clock.advance(timedelta(seconds=1))
    d.publish_chain()  # same prices: natural 1.90 >= limit 1.90
    d.service.process_events()
    filled = d.ledger.get_order(result.order.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price == Price("1.90")
    nets = {p.instrument.id: p.net for p in d.ledger.positions(ACCOUNT)}
    s = strikes_of(result)
    assert [nets[c.id] for c in (s.short_put, s.long_put, s.short_call, s.long_call)] == [-2, 2, -1, 1]
    d.ledger.close()


def _fill_entry_at_better_prices(desk: Desk) -> tuple[CycleResult, TridentStrikes]:
    result = desk.run()
    assert result.order is not None and result.order.limit_price == Price("4.14")
    s = strikes_of(result)
    desk.clock.advance(timedelta(seconds=1))
    desk.publish_chain()  # natural 1.90 < limit 4.14: rests
    assert desk.client.get_order(result.order.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    # The market moves our way: natural 2 × (17.50 − 15.60) + (18.55 − 17.75) = 4.60 >= 4.14.
    desk.set_quote(s.short_put, "17.50", "17.60")
    desk.service.process_events()
    return result, s


def test_order_fills_only_when_natural_reaches_the_limit(desk: Desk) -> None:
    result, _ = _fill_entry_at_better_prices(desk)
    assert result.order is not None
    filled = desk.ledger.get_order(result.order.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price == Price("4.60")  # combinations fill at their natural price


def test_exit_at_profit_target_closes_the_position(desk: Desk) -> None:
    _, s = _fill_entry_at_better_prices(desk)
    desk.clock.advance(timedelta(days=7))  # Monday 10 Nov, 39 DTE
    manager = TridentManager(ACCOUNT, desk.cache, desk.clock)
    marks = (("1.00", "1.10"), ("0.40", "0.50"), ("1.20", "1.30"), ("0.50", "0.60"))
    for contract, (bid, ask) in zip((s.short_put, s.long_put, s.short_call, s.long_call), marks, strict=True):
        desk.set_quote(contract, bid, ask)
    [decision] = manager.decide(desk.ledger.orders(ACCOUNT), desk.ledger.positions(ACCOUNT))
    assert decision.reason is ExitReason.PROFIT_TARGET
    assert decision.position.credit == Price("4.60") and decision.mid_debit == Price("1.90")
    result = desk.service.execute(decision.suggestion, desk.ctx(decision.quotes))
    assert result.outcome is ExecutionOutcome.SUBMITTED, result.reason
    assert result.order is not None and result.order.price_effect is PriceEffect.DEBIT
    assert result.order.limit_price == Price("1.94")  # min(mid 1.90 + 0.04, natural 2.20)
    # Tighter quotes: natural debit 2 × (1.02 − 0.45) + (1.22 − 0.53) = 1.83 <= 1.94.
    desk.clock.advance(timedelta(seconds=1))
    tight = (("1.00", "1.02"), ("0.45", "0.47"), ("1.20", "1.22"), ("0.53", "0.55"))
    for contract, (bid, ask) in zip((s.short_put, s.long_put, s.short_call, s.long_call), tight, strict=True):
        desk.set_quote(contract, bid, ask)
    desk.service.process_events()
    closed = desk.ledger.get_order(result.order.client_order_id)
    assert closed is not None and closed.status is OrderStatus.FILLED
    assert all(p.is_flat for p in desk.ledger.positions(ACCOUNT))
    assert manager.decide(desk.ledger.orders(ACCOUNT), desk.ledger.positions(ACCOUNT)) == []
    realized = sum((p.realized_pnl.amount for p in desk.ledger.positions(ACCOUNT)), Decimal(0))
    assert realized > 0
