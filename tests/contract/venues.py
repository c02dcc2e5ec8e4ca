"""The venues the broker contract suite runs against, and the driver interface they implement.

A venue is an ``Execution`` adapter plus a ``VenueDriver`` that plays the market and the clock
on the other side of it. To add an adapter (Alpaca, Tastytrade, IB against a local
protocol-faithful simulator), write one factory returning a ``Venue`` and add it to
``VENUE_FACTORIES``. The suite then asks only this of the venue:

* the account starts with ``STARTING_CASH`` in cash, no positions and no orders;
* ``equity`` and the two ``puts`` (same expiry, ``puts[0]`` has the higher strike) are tradable
  once quoted through the driver;
* market and limit orders fill against the quotes the driver publishes: a buy at the ask and a
  sell at the bid of a quote published after the order was accepted, at most the quote's size
  when one is given; a combination at its natural price (sold legs at the bid, bought legs at
  the ask) once that reaches the limit;
* ``end_session`` closes the trading session, so DAY orders expire and GTC orders stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.execution import AlpacaExecution
from adapters.brokers.alpaca.rest import trading_client
from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.data import IbkrMarketData
from adapters.brokers.ibkr.execution import IbkrExecution
from adapters.brokers.ibkr.session import IbSession
from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.brokers.tastytrade.config import TastytradeSettings
from adapters.brokers.tastytrade.execution import TastytradeExecution
from adapters.brokers.tastytrade.session import TtSession
from core.clock import SimClock
from core.model import AccountId, Equity, Instrument, InstrumentId, Money, OptionContract, Price, Quote
from core.ports import Execution
from simulators import alpaca as alpaca_simulator
from simulators import ibkr as ibkr_simulator
from simulators import tastytrade as tastytrade_simulator
from simulators.alpaca import AlpacaSimulator
from simulators.ibkr import IbkrSimulator
from simulators.tastytrade import TastytradeSimulator

STARTING_CASH = Money(100_000)


class VenueDriver(Protocol):
    """The market and the clock on the far side of an adapter."""

    def now(self) -> datetime:
        """The venue's current time (timezone-aware UTC)."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Move the venue's time forward by ``delta``."""
        ...

    def quote(self, instrument: Instrument, bid: str, ask: str, size: int | None = None) -> None:
        """Publish a best bid and ask (``size`` on both sides, ``None``: deep enough for anything).

        Working orders are matched against it before ``settle`` returns.
        """
        ...

    def end_session(self) -> None:
        """Close the trading session: DAY orders expire, GTC orders keep working."""
        ...

    def settle(self) -> None:
        """Wait until the adapter has seen every consequence of what was sent (events included)."""
        ...


@dataclass
class Venue:
    name: str
    execution: Execution
    driver: VenueDriver
    account_id: AccountId
    equity: Equity
    puts: tuple[OptionContract, OptionContract]
    close: Callable[[], None] | None = None


class SimDriver:
    """``VenueDriver`` of an in-process ``SimExchange``."""

    def __init__(self, exchange: SimExchange, clock: SimClock) -> None:
        self.exchange = exchange
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def quote(self, instrument: Instrument, bid: str, ask: str, size: int | None = None) -> None:
        self.clock.advance(timedelta(seconds=1))
        sz = float(size) if size is not None else 0.0
        self.exchange.on_quote(
            Quote(InstrumentId.of(instrument.id), Price(bid), Price(ask), self.clock.now(), sz, sz)
        )

    def end_session(self) -> None:
        self.exchange.expire_day_orders(self.clock.now())
        self.clock.advance(timedelta(hours=17))

    def settle(self) -> None:
        return None


def sim_venue() -> Venue:
    clock = SimClock(datetime(2025, 6, 2, 14, 0, tzinfo=UTC))
    exchange = SimExchange(SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE), clock)
    account = AccountId("contract-sim")
    exchange.open_account(account, STARTING_CASH)
    expiry = date(2025, 6, 20)
    puts = (OptionContract("SPY", expiry, "P", Decimal(95)), OptionContract("SPY", expiry, "P", Decimal(90)))
    return Venue(
        "sim", SimExecutionClient(exchange, account), SimDriver(exchange, clock), account, Equity("SPY"), puts
    )


class IbkrDriver(SimDriver):
    """``VenueDriver`` of a ``SimExchange`` behind the fake TWS: changes go through its loop.

    It also holds the rest of the rig (the TWS ``handle``, the ``session``, the ``data`` port)
    for the IBKR scenario tests."""

    def __init__(
        self,
        exchange: SimExchange,
        clock: SimClock,
        handle: IbkrSimulator,
        session: IbSession,
        account: AccountId,
    ) -> None:
        super().__init__(exchange, clock)
        self.handle = handle
        self.session = session
        self.adapter = IbkrExecution(session, account, clock)
        self.data = IbkrMarketData(session, clock)

    def quote(self, instrument: Instrument, bid: str, ask: str, size: int | None = None) -> None:
        self.handle.run(lambda: super(IbkrDriver, self).quote(instrument, bid, ask, size))

    def end_session(self) -> None:
        self.handle.run(super().end_session)

    def settle(self) -> None:
        self.handle.settle()
        self.adapter.sync()


class _Recorder(logging.Handler):
    """Keeps the errors ib_async logs (and swallows) for messages it cannot decode."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def ibkr_venue(market: object | None = None, **timing: float) -> Venue:
    """The IBKR adapter (ib_async) against the fake TWS with a ``SimExchange`` behind it."""
    base = sim_venue()
    assert isinstance(base.driver, SimDriver)
    exchange, clock = base.driver.exchange, base.driver.clock
    handle = ibkr_simulator.start(exchange, clock=clock, account_id=base.account_id, market=market)
    timing = {"connect_timeout": 2.0, "backoff_initial": 0.05, "backoff_max": 0.5} | timing
    settings = IbkrSettings.from_connection(handle.credentials.ibkr, environ={}, **timing)
    session = IbSession(settings, clock)
    driver = IbkrDriver(exchange, clock, handle, session, base.account_id)
    undecoded = _Recorder()
    logging.getLogger("ib_async.Decoder").addHandler(undecoded)
    session.start()

    def close() -> None:
        driver.data.close()
        session.close()
        handle.close()
        logging.getLogger("ib_async.Decoder").removeHandler(undecoded)
        assert undecoded.records == [], "ib_async could not decode a message of the fake TWS"

    return Venue("ibkr", driver.adapter, driver, base.account_id, base.equity, base.puts, close)


class TastytradeDriver(SimDriver):
    """``VenueDriver`` of a ``SimExchange`` behind the fake Tastytrade: changes go through its
    loop; ``settle`` waits until every push was sent and the adapter's REST view agrees."""

    def __init__(self, exchange: SimExchange, clock: SimClock, handle: TastytradeSimulator) -> None:
        super().__init__(exchange, clock)
        self.handle = handle

    def quote(self, instrument: Instrument, bid: str, ask: str, size: int | None = None) -> None:
        self.handle.run(lambda: super(TastytradeDriver, self).quote(instrument, bid, ask, size))

    def end_session(self) -> None:
        self.handle.run(super().end_session)

    def settle(self) -> None:
        self.handle.settle()


def tastytrade_venue(market: object | None = None, **timing: float) -> Venue:
    """The Tastytrade adapter (the ``tastytrade`` SDK) against the fake Tastytrade over loopback."""
    base = sim_venue()
    assert isinstance(base.driver, SimDriver)
    exchange, clock = base.driver.exchange, base.driver.clock
    handle = tastytrade_simulator.start(exchange, clock=clock, account_id=base.account_id, market=market)
    timing = {"backoff_initial": 0.05, "backoff_max": 0.5, "stabilise_s": 0.0} | timing
    settings = TastytradeSettings.from_credentials(handle.credentials.tastytrade, environ={}, **timing)
    session = TtSession(settings, clock).start()
    execution = TastytradeExecution(session, base.account_id, clock)
    execution.start()
    driver = TastytradeDriver(exchange, clock, handle)

    def close() -> None:
        session.close()
        handle.close()

    return Venue("tastytrade", execution, driver, base.account_id, base.equity, base.puts, close)


class AlpacaDriver(SimDriver):
    """``VenueDriver`` of a ``SimExchange`` behind the Alpaca simulator: changes go through its
    loop; ``settle`` waits for the pong after the last frame, then for the adapter's dispatch.

    It also holds the ``handle`` for the Alpaca scenario tests."""

    def __init__(
        self, exchange: SimExchange, clock: SimClock, handle: AlpacaSimulator, adapter: AlpacaExecution
    ) -> None:
        super().__init__(exchange, clock)
        self.handle = handle
        self.adapter = adapter

    def quote(self, instrument: Instrument, bid: str, ask: str, size: int | None = None) -> None:
        self.handle.run(lambda: super(AlpacaDriver, self).quote(instrument, bid, ask, size))

    def end_session(self) -> None:
        self.handle.run(super().end_session)

    def settle(self) -> None:
        self.handle.settle()
        self.adapter.sync()


def alpaca_venue(market: object | None = None, **timing: float) -> Venue:
    """The Alpaca adapter (alpaca-py's TradingClient and TradingStream) against the Alpaca
    simulator over loopback, a ``SimExchange`` behind it."""
    base = sim_venue()
    assert isinstance(base.driver, SimDriver)
    exchange, clock = base.driver.exchange, base.driver.clock
    handle = alpaca_simulator.start(exchange, clock=clock, account_id=base.account_id, market=market)
    timing = {"connect_timeout": 2.0, "backoff_initial": 0.05, "backoff_max": 0.5, "ready_timeout": 5.0} | timing
    settings = AlpacaSettings.from_credentials(str(base.account_id), handle.credentials.alpaca, environ={}, **timing)
    adapter = AlpacaExecution(trading_client(settings), settings, base.account_id, clock)
    adapter.start()
    driver = AlpacaDriver(exchange, clock, handle, adapter)

    def close() -> None:
        adapter.close()
        handle.close()

    return Venue("alpaca", adapter, driver, base.account_id, base.equity, base.puts, close)


VENUE_FACTORIES: dict[str, Callable[[], Venue]] = {
    "sim": sim_venue,
    "ibkr": ibkr_venue,
    "tastytrade": tastytrade_venue,
    "alpaca": alpaca_venue,
}
