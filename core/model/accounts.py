"""Account balances as the broker reports them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidValue
from core.model.identifiers import AccountId
from core.model.values import Money


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """Cash, buying power and equity (net liquidation value) of an account at ``ts``."""

    account_id: AccountId
    cash: Money
    buying_power: Money
    equity: Money
    ts: datetime

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise InvalidValue("balance timestamps must be timezone-aware")
        if len({self.cash.currency, self.buying_power.currency, self.equity.currency}) != 1:
            raise InvalidValue("balance amounts must share one currency")
