"""``AccountRuntimeConfig``: what an account service needs from its configuration.

The cluster layer maps ``configs.AccountConfig`` (and the risk limits) onto it; ``core`` never
imports ``configs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

from core.errors import InvalidValue
from core.features import FeatureSetName
from core.model import AccountId

DEFAULT_TIMEFRAME: Final = "1m"
INTRADAY_TIMEFRAMES: Final = frozenset({"1m", "5m", "15m", "30m", "1h"})
TIMEFRAMES: Final = INTRADAY_TIMEFRAMES | {"1d"}


def feature_set_of(timeframe: str) -> FeatureSetName:
    """Intraday features for intraday bars, swing features for daily bars."""
    return "intraday" if timeframe in INTRADAY_TIMEFRAMES else "swing"


@dataclass(frozen=True, slots=True)
class AccountRuntimeConfig:
    """How one account trades. Money in the account currency; durations are session time.

    ``timeframes`` maps a strategy name to the bars it runs on (``"1m"`` unless listed).
    ``intraday``: flatten every position ``flatten_minutes_before_close`` before the close and
    open nothing after that. ``risk_fraction`` of the bankroll is risked per trade (capped by the
    risk limit); a strategy without its own stop gets one ``atr_stop_multiple`` ATRs away and a
    target ``reward_risk`` times that distance beyond the entry. With a scorer, an entry needs a
    model score above ``min_score``. Unfilled entry orders are cancelled after ``entry_ttl``.
    An intraday signal is acted on up to ``max_signal_age`` after its bar completed; a daily
    one only during the next session (``core.trading.freshness``).
    """

    automation_enabled: bool = True
    entry_offset_cents: int = 4
    bankroll: Decimal = Decimal("100000")
    timeframes: Mapping[str, str] = field(default_factory=dict)
    flatten_minutes_before_close: int = 10
    monitor_interval: timedelta = timedelta(minutes=10)
    intraday: bool = True
    max_positions: int = 5
    risk_fraction: Decimal = Decimal("0.01")
    atr_stop_multiple: float = 2.0
    reward_risk: float = 2.0
    min_score: float = 0.0
    entry_ttl: timedelta | None = timedelta(minutes=5)
    max_signal_age: timedelta = timedelta(minutes=5)
    fractional: bool = False
    kill_switch: bool = False
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.entry_offset_cents < 0:
            raise InvalidValue(f"entry_offset_cents must not be negative, got {self.entry_offset_cents}")
        if self.bankroll <= 0:
            raise InvalidValue(f"bankroll must be positive, got {self.bankroll}")
        if self.max_positions < 1:
            raise InvalidValue(f"max_positions must be at least 1, got {self.max_positions}")
        if not 0 <= self.flatten_minutes_before_close < 390:
            raise InvalidValue(
                f"flatten_minutes_before_close must be in [0, 390), got {self.flatten_minutes_before_close}"
            )
        if self.monitor_interval <= timedelta(0):
            raise InvalidValue(f"monitor_interval must be positive, got {self.monitor_interval}")
        if self.atr_stop_multiple <= 0 or self.reward_risk <= 0:
            raise InvalidValue("atr_stop_multiple and reward_risk must be positive")
        unknown = {s: t for s, t in self.timeframes.items() if t not in TIMEFRAMES}
        if unknown:
            raise InvalidValue(f"unknown timeframes {unknown}; expected one of {sorted(TIMEFRAMES)}")

    def timeframe_of(self, strategy: str) -> str:
        return self.timeframes.get(strategy, DEFAULT_TIMEFRAME)


@runtime_checkable
class AccountPurger(Protocol):
    """Deletes every ledger row of one account (the ``delete`` override).

    Proposed as ``Ledger.purge_account``; until then ``adapters.ledger.purge`` implements it.
    """

    def purge_account(self, account_id: AccountId) -> Mapping[str, int]:
        """Delete the account's rows; returns rows deleted per table."""
        ...
