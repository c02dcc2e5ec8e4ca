"""Building an account from configuration: venue, ledger, Redis ports, risk, scorer, service.

Plain Python, testable without Ray: the account actor calls ``build_host`` in its
constructor, and a restarted actor calls it again (start-up and recovery are one path).

Where state lives:

* the ledger is the one SQLite file at ``settings.ledger.path``, shared by every account (rows
  carry the account id; WAL lets the actors write concurrently and the CLI, the TUI and the
  reports read one file);
* a simulated account's venue is its own durable ``SimExchange`` at
  ``<state_dir>/<account>/venue.sqlite3`` (reopened after a crash with every order and fill);
* the feed cursor (last bar event processed) is ``<state_dir>/<account>/feed.json``;
* Redis (quotes, events, state board, command inbox) is reached by URL: the supervisor or the
  replay driver starts the embedded server once and hands its URL to every actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl
from pydantic import SecretStr

from actors.extras import AccountExtras, LedgerWatch
from actors.host import AccountHost, CrashAfterSubmits, FeedCursor, History
from actors.notifications import BackgroundNotify, NotifyTargets, build_dispatcher
from actors.options import TRIDENT, OptionsDesk, OptionsSpec, build_options_desk
from actors.snapshots import FillSnapshots, RecordingExecution, RecordingScorer
from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.cache import (
    RedisCommandInbox,
    RedisEventLog,
    RedisQuoteCache,
    RedisStateBoard,
    client_from_url,
)
from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SyntheticMarketConfig
from adapters.market.synthetic.market import SyntheticMarket
from adapters.market.synthetic.options import ChainConfig
from adapters.store import BarStore
from configs.accounts import AccountConfig
from configs.accounts import RiskLimits as ConfigRiskLimits
from core.calendar import MarketCalendar
from core.clock import Clock, LiveClock, SimClock
from core.errors import ConfigError
from core.execution import Reconciler
from core.learning import SnapshotService
from core.model import AccountId, Money
from core.ports.execution import Execution
from core.ports.scorer import Scorer
from core.risk import RiskEngine, RiskLimits
from core.strategies import make_strategy
from core.trading.config import AccountRuntimeConfig
from core.trading.freshness import delivered_session

DAILY_STRATEGIES: Final = frozenset({"swing_trend_following"})
"""Strategies that run on daily bars (every other one runs on minute bars)."""
REAL_BROKERS: Final = frozenset({"alpaca", "tastytrade", "ibkr"})
OPTION_CHAINS: Final = ChainConfig(strike_steps=((10_000.0, 1.0),))
"""1-point strikes at any price: even strikes exist for the Trident's rounding of 2."""


@dataclass(frozen=True)
class AccountSpec:
    """Everything an account actor needs to build its account; picklable, sent at creation.

    ``start``: a replay's first instant (the account runs on a ``SimClock`` moved by the bar
    events); ``None`` runs on the real clock. ``scorer``: the scoring endpoint's ``http://`` URL
    (``scorer_token`` its bearer token), ``"serve"`` for the Serve app's handle, or ``None`` for
    rules only. ``market``: the synthetic
    market behind the stored bars (the option chains of a ``trident`` account are priced off
    it); ``options``: how the Trident trades; ``notify``: where notifications go (``None``:
    nowhere); ``preferences``: every account's notify preference.
    """

    account: AccountConfig
    ledger_path: Path
    state_dir: Path
    redis_url: str
    data_dir: Path | None = None
    symbols: tuple[str, ...] = ()
    start: datetime | None = None
    scorer: str | None = None
    scorer_token: SecretStr | None = None
    flatten_minutes_before_close: int = 10
    crash_after_submits: int | None = None
    timeframes: dict[str, str] = field(default_factory=dict)
    market: SyntheticMarketConfig | None = None
    options: OptionsSpec = field(default_factory=OptionsSpec)
    notify: NotifyTargets | None = None
    preferences: dict[str, str] = field(default_factory=dict)

    @property
    def account_dir(self) -> Path:
        return self.state_dir / self.account.id

    @property
    def trades_options(self) -> bool:
        return TRIDENT in self.account.strategies

    @property
    def bar_strategies(self) -> list[str]:
        """The account's strategies that trade on bars (the ``AccountService``'s)."""
        return [s for s in self.account.strategies if s != TRIDENT]

    @property
    def underlying(self) -> str | None:
        """The options account's underlying: configured, else the first data symbol."""
        if not self.trades_options:
            return None
        return self.options.underlying or (self.symbols[0] if self.symbols else None)

    def timeframe_of(self, strategy: str) -> str:
        return self.timeframes.get(strategy, "1d" if strategy in DAILY_STRATEGIES else "1m")

    def feeds(self) -> dict[str, tuple[str, ...]]:
        """The bars the account subscribes to: symbols by timeframe.

        Every traded symbol also comes by the minute: the venue fills on quotes, so an account
        on daily bars takes the minutes too (the host feeds them to the venue only).
        """
        out: dict[str, set[str]] = {}
        for strategy in self.bar_strategies:
            out.setdefault(self.timeframe_of(strategy), set()).update(self.symbols)
            out.setdefault("1m", set()).update(self.symbols)
        if self.underlying is not None:
            out.setdefault("1m", set()).add(self.underlying)
        return {tf: tuple(sorted(symbols)) for tf, symbols in out.items()}


def core_risk_limits(limits: ConfigRiskLimits, currency: str = "USD") -> RiskLimits:
    """The configured limits as the risk engine's value objects."""
    return RiskLimits(
        max_risk_per_trade=Money(limits.max_risk_per_trade, currency),
        max_open_positions=limits.max_open_positions,
        max_exposure_per_symbol=Money(limits.max_exposure_per_symbol, currency),
        daily_loss_limit=Money(limits.daily_loss_limit, currency),
        stale_quote_seconds=limits.stale_quote_seconds,
    )


def runtime_config(spec: AccountSpec) -> AccountRuntimeConfig:
    """``AccountRuntimeConfig`` from the account's configuration."""
    account = spec.account
    timeframes = {s: spec.timeframe_of(s) for s in spec.bar_strategies}
    return AccountRuntimeConfig(
        automation_enabled=account.automation_enabled,
        entry_offset_cents=account.entry_offset_cents,
        bankroll=Decimal(account.bankroll),
        timeframes=timeframes,
        flatten_minutes_before_close=spec.flatten_minutes_before_close,
        intraday=any(t != "1d" for t in timeframes.values()),
        max_positions=account.risk.max_open_positions,
        kill_switch=account.risk.kill_switch,
    )


def open_sim_venue(path: Path, account_id: AccountId, cash: Decimal, clock: Clock) -> SimExchange:
    """The account's durable simulated exchange (reopened if it exists), account funded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    calendar = MarketCalendar()
    # Filled on quotes, as a live broker fills: each symbol gets one quote per minute, which
    # makes a re-sent bar event recognisable by the quote's timestamp. fsync guards against
    # power cuts only; a killed process loses nothing the kernel already holds. Fill ids carry
    # the account id: every account's venue numbers its fills from 1 into one shared ledger.
    config = SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False, account_fill_ids=True)
    opener = SimExchange.open if path.exists() else _new_exchange
    venue = opener(path, config, clock, is_open=calendar.is_open, session_close=calendar.next_close)
    venue.open_account(account_id, Money(cash), margin=True)
    return venue


def _new_exchange(path: Path, config: SimExchangeConfig, clock: Clock, **kwargs: Any) -> SimExchange:
    return SimExchange(config, clock, path, **kwargs)


def make_scorer(target: str | None, token: SecretStr | None = None) -> Scorer | None:
    """The scoring client for ``target`` (see ``AccountSpec.scorer``); ``None``: rules only."""
    if target is None:
        return None
    try:
        from serving.client import HandleScorer, HttpScorer
    except ImportError:  # serving not installed: trade on the rules
        return None
    if target == "serve":
        try:
            return HandleScorer()
        except Exception:  # no Serve app running: rules only (the service records fallbacks)
            return None
    return HttpScorer(target, token=token)


@dataclass
class Broker:
    """The account's ``Execution`` port and, for the simulator, its venue."""

    execution: Execution
    venue: SimExchange | None
    closers: tuple[Callable[[], Any], ...]


def check_broker(account: AccountConfig) -> None:
    """Raise ``ConfigError`` for an account whose broker has no adapter yet."""
    if account.broker in REAL_BROKERS:
        raise ConfigError(
            f"accounts.{account.id}.broker: the {account.broker} adapter is not available yet; "
            "use broker = 'sim' (paper trading on the simulated exchange)"
        )


def open_broker(spec: AccountSpec, clock: Clock) -> Broker:
    """The broker adapter of ``spec.account`` (only the simulator exists so far)."""
    account = spec.account
    check_broker(account)
    venue = open_sim_venue(
        spec.account_dir / "venue.sqlite3", AccountId(account.id), Decimal(account.bankroll), clock
    )
    execution: Execution = SimExecutionClient(venue, AccountId(account.id))
    if spec.crash_after_submits is not None:
        execution = CrashAfterSubmits(execution, spec.crash_after_submits)
    return Broker(execution, venue, (venue.close,))


def build_host(spec: AccountSpec, service_factory: Callable[..., Any] | None = None) -> AccountHost:
    """Wire the account of ``spec`` and return its host (not started: call ``start()``)."""
    spec.account_dir.mkdir(parents=True, exist_ok=True)
    clock: Clock = SimClock(spec.start) if spec.start is not None else LiveClock()
    account_id = AccountId(spec.account.id)
    broker = open_broker(spec, clock)
    ledger = SqliteLedger(spec.ledger_path, clock)
    redis = client_from_url(spec.redis_url)
    limits = core_risk_limits(spec.account.risk)
    config = runtime_config(spec)
    base_scorer = make_scorer(spec.scorer, spec.scorer_token)
    scorer = RecordingScorer(base_scorer) if base_scorer is not None else None
    execution = RecordingExecution(
        account_id,
        broker.execution,
        ledger,
        RiskEngine(limits),
        clock,
        offset_cents=config.entry_offset_cents,
        scorer=scorer,
    )
    quotes = RedisQuoteCache(redis, clock)
    factory = service_factory or _account_service
    service = factory(
        account_id=account_id,
        strategies=[make_strategy(name) for name in spec.bar_strategies],
        execution=execution,
        reconciler=Reconciler(account_id, broker.execution, ledger, clock),
        ledger=ledger,
        broker=broker.execution,
        risk_limits=limits,
        quotes=quotes,
        events=RedisEventLog(redis),
        board=RedisStateBoard(redis),
        inbox=RedisCommandInbox(redis),
        scorer=scorer,
        clock=clock,
        calendar=MarketCalendar(),
        config=config,
    )
    extras = _extras(spec, clock, ledger, broker, quotes, execution)
    closers = (extras.close, *broker.closers, ledger.close, redis.close)
    return AccountHost(
        spec.account.id,
        service,
        clock,
        FeedCursor(spec.account_dir / "feed.json"),
        ledger,
        broker.execution,
        broker.venue,
        closers=tuple(_quiet(c) for c in closers),
        history=_history(spec),
        timeframes=tuple(sorted(set(config.timeframes.values()))),
        extras=extras,
    )


def _extras(
    spec: AccountSpec,
    clock: Clock,
    ledger: SqliteLedger,
    broker: Broker,
    quotes: RedisQuoteCache,
    execution: RecordingExecution,
) -> AccountExtras:
    """Snapshots, notifications and (for ``trident``) the options desk of the account."""
    account_id = AccountId(spec.account.id)
    snapshots = FillSnapshots(account_id, ledger, SnapshotService(ledger, clock), execution)
    preferences: dict[str, Any] = {spec.account.id: spec.account.notify, **spec.preferences}
    dispatcher = build_dispatcher(spec.notify, preferences, clock, spec.account_dir / "digest.sqlite3")
    notify = BackgroundNotify(dispatcher)
    watch = LedgerWatch(account_id, ledger, spec.account_dir / "watch.json", snapshots, notify)
    return AccountExtras(
        spec.account.id,
        ledger,
        broker.execution,
        quotes,
        execution,
        snapshots,
        watch,
        notify,
        _options(spec, clock, ledger, broker, quotes, execution),
        Decimal(spec.account.bankroll),
    )


def _options(
    spec: AccountSpec,
    clock: Clock,
    ledger: SqliteLedger,
    broker: Broker,
    quotes: RedisQuoteCache,
    execution: RecordingExecution,
) -> OptionsDesk | None:
    underlying = spec.underlying
    if underlying is None:
        return None
    if spec.market is None:
        raise ConfigError(
            f"accounts.{spec.account.id}.strategies: trident needs option chains; only the synthetic "
            "market provides them so far (run on the simulated exchange with stored synthetic data)"
        )
    market = SyntheticMarket(spec.market, OPTION_CHAINS)
    return build_options_desk(
        AccountId(spec.account.id),
        execution,
        ledger,
        broker.execution,
        quotes,
        market,
        clock,
        spec.options,
        underlying,
        Decimal(spec.account.risk.max_risk_per_trade),
        broker.venue,
    )


_HISTORY: Final = {"1m": timedelta(days=7), "1d": timedelta(days=600)}


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


def _account_service(**kwargs: Any) -> Any:
    from core.trading import AccountService

    return AccountService(**kwargs)


def _quiet(close: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):
            close()

    return run
