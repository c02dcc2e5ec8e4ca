"""``open_kernel``: one account's kernel from its ``AccountSpec`` (plain Python, no Ray).

The account actor calls it in its constructor, and a restarted actor calls it again (start-up
and recovery are one path). Where state lives:

* the ledger is the one SQLite file (or PostgreSQL database) at ``spec.ledger_path``, shared by every account (rows carry
  the account id; WAL lets the actors write concurrently and the CLI, the TUI and the reports
  read one file);
* the broker's clients come from ``adapters.brokers.factory.open_clients``; a simulated
  account's venue is its own durable ``SimExchange`` at ``<state_dir>/<account>/venue.sqlite3``;
  with ``spec.venue`` naming a broker simulator, that exchange is served over the broker's wire
  protocol and the account trades through the broker's own adapter;
* the stream cursor (last bar event per timeframe, last ledger event published) is
  ``<state_dir>/<account>/cursor.json``;
* Redis (quotes, events, state board, command inbox) is reached by URL: the supervisor or the
  replay driver starts the embedded server once and hands its URL to every actor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol, runtime_checkable

import polars as pl

from adapters.account.notify import BackgroundNotify
from adapters.account.spec import AccountSpec, core_risk_limits, runtime_config
from adapters.brokers.factory import BrokerClients, BrokerContext, open_clients
from adapters.brokers.sim.factory import VENUE_FILE, open_venue
from adapters.brokers.sim.faults import CrashAfterSubmits
from adapters.brokers.sim.feed import SimVenueFeed
from adapters.cache import (
    RedisCommandInbox,
    RedisEventLog,
    RedisQuoteCache,
    RedisStateBoard,
    client_from_url,
)
from adapters.ledger.cursor import FileCursor
from adapters.ledger.postgres import open_ledger
from adapters.market.synthetic.data import SyntheticMarketData
from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.options import ChainConfig
from adapters.notify.setup import alert_rules, build_notifications
from adapters.store import BarStore
from adapters.store.earnings import load_earnings
from adapters.store.market_context import snapshot_providers
from adapters.store.universe import read_universe_file
from configs.accounts import BrokerCredentials
from configs.notifications import NotificationsConfig
from core.alerts import DeskAlerts
from core.calendar import MarketCalendar
from core.clock import Clock, LiveClock, SimClock
from core.earnings import EarningsCalendar
from core.errors import ConfigError
from core.execution import Reconciler
from core.learning import SnapshotService
from core.messages import FillsRecorded, LedgerRecorded
from core.metrics.trading import TradingMetrics
from core.model import AccountId
from core.ports.ledger import Ledger
from core.ports.market_data import MarketData
from core.ports.metrics import Metrics
from core.ports.scorer import Scorer
from core.risk import RiskEngine
from core.strategies import make_strategy
from core.trading.account import AccountService
from core.trading.blackout import Blackout, EntryBlackout
from core.trading.bus import MessageBus
from core.trading.events import EventMirror
from core.trading.freshness import delivered_session
from core.trading.kernel import AccountKernel, History, KernelPorts
from core.trading.notices import subscribe_notifications
from core.trading.options import OptionsDesk, build_options_desk
from core.trading.outbox import LedgerOutbox
from core.trading.snapshots import FillSnapshots, RecordingExecution, RecordingScorer

OPTION_CHAINS: Final = ChainConfig(strike_steps=((10_000.0, 1.0),))
"""1-point strikes at any price: even strikes exist for the Trident's rounding of 2."""
_HISTORY: Final = {"1m": timedelta(days=7), "1d": timedelta(days=600)}


class ServedVenue(Protocol):
    """A broker simulator serving an account's exchange (``simulators.SimulatorHandle``)."""

    @property
    def broker(self) -> str: ...
    @property
    def credentials(self) -> BrokerCredentials: ...
    def settle(self) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class ServesOnItsThread(Protocol):
    """A simulator that touches the exchange only on its own thread: feed it through ``run``."""

    def run(self, work: Callable[[], Any]) -> Any: ...


VenueServer = Callable[..., ServedVenue]
"""A simulator's ``start(exchange, *, clock, account_id)`` (``simulators.SIMULATED_VENUES``)."""


def open_broker(spec: AccountSpec, clock: Clock, serve: VenueServer | None = None) -> BrokerClients:
    """The account's broker clients: by its broker, or, with ``serve``, through the broker
    simulator that serves the account's durable exchange (``spec.venue``)."""
    if spec.venue != "sim":
        if serve is None:
            raise ConfigError(f"venue: {spec.venue!r} needs its simulator")
        return _served(spec, clock, serve)
    context = BrokerContext(spec.account, spec.credentials, spec.account_dir, clock)
    clients = open_clients(context)
    if spec.crash_after_submits is not None:
        clients.execution = CrashAfterSubmits(clients.execution, spec.crash_after_submits)
    return clients


def _served(spec: AccountSpec, clock: Clock, serve: VenueServer) -> BrokerClients:
    """The account's exchange, opened and fed exactly as on ``sim``, traded through the broker's
    adapter at the simulator; the feed settles the simulator after each update."""
    account_id = AccountId(spec.account.id)
    exchange = open_venue(spec.account_dir / VENUE_FILE, account_id, Decimal(spec.account.bankroll), clock)
    handle = serve(exchange, clock=clock, account_id=account_id)
    account = spec.account.model_copy(update={"broker": handle.broker})
    clients = open_clients(BrokerContext(account, handle.credentials, spec.account_dir, clock))
    if isinstance(handle, ServesOnItsThread):
        clients.venue = SimVenueFeed(exchange, settle=handle.settle, run=handle.run)
    else:
        clients.venue = SimVenueFeed(exchange, settle=handle.settle)
    clients.closers = (*clients.closers, handle.close, exchange.close)
    return clients


def open_kernel(
    spec: AccountSpec,
    scorer: Scorer | None = None,
    serve: VenueServer | None = None,
    metrics: Metrics | None = None,
) -> AccountKernel:
    """Wire the account of ``spec`` around its broker clients (not started: call ``start()``)."""
    spec.account_dir.mkdir(parents=True, exist_ok=True)
    clock: Clock = SimClock(spec.start) if spec.start is not None else LiveClock()
    return compose_kernel(spec, open_broker(spec, clock, serve), clock, scorer, metrics)


def _snapshot_service(spec: AccountSpec, ledger: Ledger, clock: Clock) -> SnapshotService:
    """Snapshots with market context and technicals from the stored daily bars, when there are any."""
    if spec.data_dir is None:
        return SnapshotService(ledger, clock)
    context, technicals = snapshot_providers(spec.data_dir, spec.index_symbols)
    return SnapshotService(ledger, clock, context, technicals=technicals)


def compose_kernel(
    spec: AccountSpec,
    broker: BrokerClients,
    clock: Clock,
    scorer: Scorer | None = None,
    metrics: Metrics | None = None,
) -> AccountKernel:
    """The kernel of ``spec`` trading through ``broker`` (any broker's clients) on ``clock``.

    Its bus feeds the snapshots (with market context and technicals from the stored daily bars),
    the event mirror, the account's notices and the desk's alert rules (``spec.notify``), and,
    given ``metrics`` (the actor passes Ray's), the trading metrics.
    """
    spec.account_dir.mkdir(parents=True, exist_ok=True)
    account_id = AccountId(spec.account.id)
    ledger = open_ledger(spec.ledger_path, clock)
    blackout = entry_blackout(spec)
    redis = client_from_url(spec.redis_url)
    limits = core_risk_limits(spec.account.risk)
    config = runtime_config(spec)
    recording = RecordingScorer(scorer) if scorer is not None else None
    execution = RecordingExecution(
        account_id,
        broker.execution,
        ledger,
        RiskEngine(limits),
        clock,
        offset_cents=config.entry_offset_cents,
        scorer=recording,
        days_to_earnings=blackout.days_to_earnings,
    )
    quotes = RedisQuoteCache(redis, clock)
    cursor = FileCursor(spec.account_dir / "cursor.json")
    events = RedisEventLog(redis)
    bus = MessageBus()
    outbox = LedgerOutbox(account_id, ledger, bus, cursor)
    snapshots = FillSnapshots(account_id, ledger, _snapshot_service(spec, ledger, clock), execution.contexts)
    bus.subscribe(FillsRecorded, snapshots, critical=True)
    bus.subscribe(LedgerRecorded, EventMirror(account_id, events))
    preferences: dict[str, Any] = {spec.account.id: spec.account.notify, **spec.preferences}
    notifications = spec.notify or NotificationsConfig()
    notify = BackgroundNotify(build_notifications(notifications, preferences, clock, spec.account_dir))
    subscribe_notifications(bus, notify)
    DeskAlerts(alert_rules(notifications), notify).subscribe(bus)
    if metrics is not None:
        TradingMetrics(metrics).subscribe(bus)
    service = AccountService(
        account_id=account_id,
        strategies=[make_strategy(name) for name in spec.bar_strategies],
        execution=execution,
        reconciler=Reconciler(account_id, broker.execution, ledger, clock),
        ledger=ledger,
        broker=broker.execution,
        risk_limits=limits,
        quotes=quotes,
        events=events,
        board=RedisStateBoard(redis),
        inbox=RedisCommandInbox(redis),
        scorer=recording,
        clock=clock,
        calendar=MarketCalendar(),
        config=config,
        outbox=outbox,
        blackout=blackout,
    )
    ports = KernelPorts(
        ledger,
        broker.execution,
        quotes,
        clock,
        cursor,
        venue=broker.venue,
        history=_history(spec),
        closers=(notify.close, broker.close, ledger.close, redis.close),
    )
    return AccountKernel(
        account_id,
        service,
        execution,
        snapshots,
        outbox,
        ports,
        options=_options(spec, clock, execution, ports, broker.market_data, blackout),
        bankroll=Decimal(spec.account.bankroll),
        timeframes=tuple(sorted(set(config.timeframes.values()))),
    )


def _options(
    spec: AccountSpec,
    clock: Clock,
    execution: RecordingExecution,
    ports: KernelPorts,
    market_data: MarketData | None,
    blackout: Blackout | None = None,
) -> OptionsDesk | None:
    underlying = spec.underlying
    if underlying is None:
        return None
    market = market_data
    if spec.market is not None:  # the synthetic market's chains (a broker's data does not know it)
        market = SyntheticMarketData(SyntheticMarket(spec.market, OPTION_CHAINS), clock)
    if market is None:
        raise ConfigError(
            f"accounts.{spec.account.id}.strategies: trident needs option chains: a synthetic market "
            "(stored synthetic data) or a broker whose clients include market data"
        )
    return build_options_desk(
        AccountId(spec.account.id),
        execution,
        ports.ledger,
        ports.broker,
        ports.quotes,
        market,
        clock,
        spec.options,
        underlying,
        Decimal(spec.account.risk.max_risk_per_trade),
        ports.venue,
        blackout,
    )


def entry_blackout(spec: AccountSpec) -> EntryBlackout:
    """The account's blackout per session: earnings imported into its store within
    ``spec.earnings_blackout_sessions``, and the bar-traded symbols the last universe refresh
    (``spec.universe_file``) left out."""
    data_dir = spec.data_dir

    def earnings() -> EarningsCalendar:
        return load_earnings(data_dir) if data_dir is not None else EarningsCalendar()

    universe_file = spec.universe_file
    universe = None if universe_file is None else (lambda: read_universe_file(universe_file))
    traded = spec.symbols if spec.bar_strategies else ()
    return EntryBlackout(traded, earnings, spec.earnings_blackout_sessions, MarketCalendar(), universe)


def _history(spec: AccountSpec) -> History | None:
    """Stored bars of the account's symbols completed by ``until``: the warm-up after a (re)start."""
    if spec.data_dir is None or not spec.symbols:
        return None
    store = BarStore(spec.data_dir)
    symbols = list(spec.symbols)
    calendar = MarketCalendar()

    def read(timeframe: str, until: datetime) -> pl.DataFrame:
        start = until - _HISTORY.get(timeframe, timedelta(days=7))
        bars = store.read(timeframe, symbols, start=start, end=until + timedelta(microseconds=1))
        if timeframe == "1d":
            # A daily bar (stamped at its close) reaches the account at the next session's
            # first minute: warm up with the bars delivered by ``until``, so the next is new.
            _, close = calendar.session_open_close(delivered_session(until, calendar))
            return bars.filter(pl.col("ts") <= close)
        return bars.filter(pl.col("ts") + timedelta(minutes=1) <= until)

    return read
