"""A small desk for the learning tests: SimExchange fills → SqliteLedger → SnapshotService.

``Desk.pump`` does what the account actor does for each fill: read the position before,
record the fill in the ledger, read the position after, and call ``on_fill``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SyntheticMarket, SyntheticMarketConfig
from core.clock import SimClock
from core.learning import DailyClosesContext, EntryContext, MarketContextProvider, SnapshotService
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Instrument,
    InstrumentId,
    Money,
    OptionContract,
    OptionQuote,
    Order,
    OrderLeg,
    OrderSide,
    Position,
    Price,
    PriceEffect,
    Quote,
)

T0 = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)  # Monday 10:00 New York
ACCT = AccountId("paper1")
SYNB = Equity("SYNB")
EXPIRY = date(2025, 6, 20)
SHORT_PUT = OptionContract("SYNB", EXPIRY, "P", 95)
LONG_PUT = OptionContract("SYNB", EXPIRY, "P", 90)
BUY, SELL = OrderSide.BUY, OrderSide.SELL

_MARKET: SyntheticMarket | None = None


def market() -> SyntheticMarket:
    global _MARKET
    if _MARKET is None:
        _MARKET = SyntheticMarket(SyntheticMarketConfig(symbols=("SYNA", "SYNB")))
    return _MARKET


def index_context() -> DailyClosesContext:
    """SPX first (absent from the synthetic market, so skipped), then SYNA as the index proxy."""
    m = market()
    return DailyClosesContext(
        ("SPX", "SYNA"),
        closes=lambda s, ts: m.bars(s, end=ts, timeframe="1d").get_column("close").to_list(),
        spot=lambda s, ts: m.spot_and_vol(s, ts)[0],
    )


def quote(instrument: Instrument, bid: str, ask: str, ts: datetime) -> Quote:
    return Quote(InstrumentId(str(instrument.id)), Price(bid), Price(ask), ts)


def option_quote(
    contract: OptionContract,
    bid: str,
    ask: str,
    ts: datetime,
    und: float,
    iv: float,
    greeks: tuple[float, ...],
) -> OptionQuote:
    delta, gamma, theta, vega = greeks
    return OptionQuote(contract, quote(contract, bid, ask, ts), und, iv, delta, gamma, theta, vega)


class Desk:
    def __init__(
        self, tmp_path: Path, provider: MarketContextProvider | None = None, margin: bool = False
    ) -> None:
        self.clock = SimClock(T0)
        self.exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE), self.clock)
        self.exchange.open_account(ACCT, Money(100_000), margin=margin)
        self.client = SimExecutionClient(self.exchange, ACCT)
        self.path = tmp_path / "ledger.sqlite3"
        self.ledger = SqliteLedger(self.path, self.clock)
        self.service = SnapshotService(self.ledger, self.clock, provider)
        self._seen: set[str] = set()

    def at(self, ts: datetime) -> Desk:
        self.clock.set(ts)
        return self

    def quote(self, instrument: Instrument, bid: str, ask: str) -> None:
        self.exchange.on_quote(quote(instrument, bid, ask, self.clock.now()))

    def position(self, instrument: Instrument) -> Position:
        found = [p for p in self.ledger.positions(ACCT) if p.instrument == instrument]
        return found[0] if found else Position.flat(ACCT, instrument)

    def pump(self, context: EntryContext | None = None) -> list[int]:
        """Feed the exchange's new fills through the ledger to the snapshot service."""
        written: list[int] = []
        for fill in self.client.fills_since(T0):
            if str(fill.fill_id) in self._seen:
                continue
            self._seen.add(str(fill.fill_id))
            before = self.position(fill.instrument)
            self.ledger.record_fill(fill)
            written += self.service.on_fill(fill, before, self.position(fill.instrument), context)
        return written

    def market_order(self, name: str, instrument: Instrument, side: OrderSide, qty: int) -> None:
        self.client.submit(Order.single(ClientOrderId(name), ACCT, instrument, side, qty, self.clock.now()))

    def combo(self, name: str, legs: tuple[OrderLeg, ...], qty: int, limit: str, effect: PriceEffect) -> None:
        order = Order.combo(ClientOrderId(name), ACCT, legs, qty, Price(limit), effect, self.clock.now())
        self.client.submit(order)


def decimal(x: float) -> Decimal:
    return Decimal(repr(x))


# -- scenarios ---------------------------------------------------------------------------------
D1 = datetime(2025, 6, 2, 20, 0, tzinfo=UTC)  # Monday close
MID = datetime(2025, 6, 3, 15, 0, tzinfo=UTC)  # Tuesday 11:00
D2 = datetime(2025, 6, 3, 20, 0, tzinfo=UTC)  # Tuesday close
T_EXIT = datetime(2025, 6, 4, 15, 0, tzinfo=UTC)  # Wednesday 11:00

INTRADAY = {
    "zscore": -2.1,
    "rsi": 25.0,
    "atr": 0.4,
    "volume_zscore": 1.2,
    "spread": 0.0002,
    "range_pct": 0.003,
    "minutes_since_open": 30.0,
    "minutes_to_close": 360.0,
}
SWING = {"ema_20": 101.0, "ema_50": 99.0, "ema_slope": 0.01, "trend_strength": 0.02, "adx": 28.0, "atr": 1.5}

# (bid, ask, underlying, iv, (delta, gamma, theta, vega)) per day, short 95P then long 90P
VERTICAL_MARKS = {
    "open": (
        ("2.00", "2.10", 100.0, 0.25, (-0.30, 0.05, -0.04, 0.10)),
        ("0.90", "1.00", 100.0, 0.30, (-0.12, 0.03, -0.02, 0.06)),
    ),
    "d1": (
        ("2.45", "2.55", 98.0, 0.28, (-0.45, 0.07, -0.05, 0.11)),
        ("1.05", "1.15", 98.0, 0.32, (-0.18, 0.04, -0.03, 0.07)),
    ),
    "d2": (
        ("0.75", "0.85", 103.0, 0.23, (-0.15, 0.03, -0.03, 0.07)),
        ("0.15", "0.25", 103.0, 0.28, (-0.05, 0.01, -0.01, 0.03)),
    ),
    "exit": (
        ("0.60", "0.70", 104.0, 0.22, (-0.12, 0.03, -0.03, 0.06)),
        ("0.10", "0.20", 104.0, 0.27, (-0.04, 0.01, -0.01, 0.02)),
    ),
}


def vertical_marks(day: str, ts: datetime) -> dict[str, OptionQuote]:
    (sb, sa, su, si, sg), (lb, la, lu, li, lg) = VERTICAL_MARKS[day]
    return {
        str(SHORT_PUT.id): option_quote(SHORT_PUT, sb, sa, ts, su, si, sg),
        str(LONG_PUT.id): option_quote(LONG_PUT, lb, la, ts, lu, li, lg),
    }


def equity_marks(bid: str, ask: str, ts: datetime) -> dict[str, Quote]:
    return {"SYNB": quote(SYNB, bid, ask, ts)}


def open_equity(desk: Desk) -> list[int]:
    """Buy 10 SYNB at 100.00 (ask) on Monday 10:00."""
    desk.at(T0).quote(SYNB, "99.98", "100.00")
    desk.market_order("eq-open", SYNB, BUY, 10)
    desk.quote(SYNB, "99.98", "100.00")
    ctx = EntryContext(
        strategy="intraday_mean_reversion",
        legs=(OrderLeg(SYNB, BUY),),
        quotes=equity_marks("99.98", "100.00", T0),
        features=INTRADAY,
        feature_set="intraday",
        model_score=0.7,
        model_version="v3",
        confidence=0.6,
        signal="SYNB:long:2025-06-02T14:00",
        reason="zscore -2.1",
        days_to_earnings=12,
    )
    return desk.pump(ctx)


def close_equity(desk: Desk) -> list[int]:
    """Sell 10 SYNB at 102.00 (bid) on Wednesday 11:00."""
    desk.at(T_EXIT).quote(SYNB, "102.00", "102.02")
    desk.market_order("eq-close", SYNB, SELL, 10)
    desk.quote(SYNB, "102.00", "102.02")
    return desk.pump(EntryContext(quotes=equity_marks("102.00", "102.02", T_EXIT)))


def open_vertical(desk: Desk) -> list[int]:
    """Sell 2 SYNB 95/90 put spreads: short 95P at 2.00, long 90P at 1.00 (credit 1.00)."""
    desk.at(T0)
    marks = vertical_marks("open", T0)
    for m in marks.values():
        desk.exchange.on_quote(m.quote)
    legs = (OrderLeg(SHORT_PUT, SELL), OrderLeg(LONG_PUT, BUY))
    desk.combo("vt-open", legs, 2, "1.00", PriceEffect.CREDIT)
    desk.exchange.on_quote(marks[str(LONG_PUT.id)].quote)
    ctx = EntryContext(
        strategy="put_credit_spread",
        legs=legs,
        quotes=marks,
        features=SWING,
        feature_set="swing",
        signal="SYNB:pcs:2025-06-02",
    )
    return desk.pump(ctx)


def close_vertical(desk: Desk) -> list[int]:
    """Buy the spreads back: 95P at 0.70, 90P sold at 0.10 (debit 0.60)."""
    desk.at(T_EXIT)
    marks = vertical_marks("exit", T_EXIT)
    for m in marks.values():
        desk.exchange.on_quote(m.quote)
    legs = (OrderLeg(SHORT_PUT, BUY), OrderLeg(LONG_PUT, SELL))
    desk.combo("vt-close", legs, 2, "0.70", PriceEffect.DEBIT)
    desk.exchange.on_quote(marks[str(LONG_PUT.id)].quote)
    return desk.pump(EntryContext(quotes=marks))


def dailies(desk: Desk) -> None:
    """Monday close, Tuesday intraday mark (equity only), Tuesday close."""
    desk.service.daily(ACCT, D1, {**equity_marks("102.99", "103.01", D1), **vertical_marks("d1", D1)})
    desk.service.observe(ACCT, equity_marks("104.99", "105.01", MID))
    desk.service.daily(ACCT, D2, {**equity_marks("97.99", "98.01", D2), **vertical_marks("d2", D2)})


def full_run(desk: Desk) -> None:
    open_equity(desk)
    open_vertical(desk)
    dailies(desk)
    close_equity(desk)
    close_vertical(desk)
