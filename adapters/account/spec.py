"""What an account actor is built from: ``AccountSpec`` (picklable, sent at creation) and the
mappings of the account's configuration to the kernel's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from pydantic import SecretStr

from adapters.market.synthetic import SyntheticMarketConfig
from configs.accounts import AccountConfig, BrokerCredentials
from configs.accounts import RiskLimits as ConfigRiskLimits
from configs.notifications import NotificationsConfig
from core.model import Money
from core.risk import RiskLimits
from core.trading.config import AccountRuntimeConfig
from core.trading.options import TRIDENT, OptionsSpec

DAILY_STRATEGIES: Final = frozenset({"swing_trend_following"})
"""Strategies that run on daily bars (every other one runs on minute bars)."""


@dataclass(frozen=True)
class AccountSpec:
    """Everything an account actor needs to build its account; picklable, sent at creation.

    ``start``: a replay's first instant (the account runs on a ``SimClock`` moved by the bar
    events); ``None`` runs on the real clock. ``scorer``: the scoring endpoint's ``http://`` URL
    (``scorer_token`` its bearer token), ``"serve"`` for the Serve app's handle, or ``None`` for
    rules only. ``market``: the synthetic
    market behind the stored bars (the option chains of a ``trident`` account are priced off
    it); ``options``: how the Trident trades; ``notify``: the desk's notification settings
    (channels, routing, alert thresholds; ``None``: nowhere); ``index_symbols``: the indexes whose
    stored daily bars give snapshots their market context; ``preferences``: every account's notify preference. ``venue``: ``sim`` (the
    simulated exchange's own clients) or a broker simulator's ``--venue`` name
    (``simulators.SIMULATED_VENUES``) serving the same durable exchange over the broker's wire
    protocol, the account trading through that broker's adapter. ``ledger_path``: the ledger's
    location (a SQLite file or a ``postgresql://`` URL, ``adapters.ledger.postgres.open_ledger``).
    ``universe_file``: the pre-market universe refresh the account's entries follow once it
    exists; ``earnings_blackout_sessions``: no entry that close to a symbol's earnings (dates
    imported into ``data_dir``).
    """

    account: AccountConfig
    ledger_path: str | Path
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
    notify: NotificationsConfig | None = None
    index_symbols: tuple[str, ...] = ()
    preferences: dict[str, str] = field(default_factory=dict)
    venue: str = "sim"
    universe_file: Path | None = None
    earnings_blackout_sessions: int = 0
    credentials: BrokerCredentials = field(default_factory=BrokerCredentials)
    """The desk's broker credentials (``settings.credentials``, secrets as ``SecretStr``): what a
    real broker's ``open_clients`` connects with."""

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
