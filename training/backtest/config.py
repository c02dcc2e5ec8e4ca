"""``BacktestConfig`` and the entry sizing rule both fill paths share."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Literal

from training.backtest.fills import Commission, RelativeCommission

Sizing = Literal["equal_weight", "all_in"]
# backtesting.py's default order size: "all of the available margin", as a fraction < 1.
_FULL = 1.0 - sys.float_info.epsilon


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """Bankroll, limits, costs and sizing of a backtest.

    ``sizing``: ``"equal_weight"`` spends ``min(free cash, equity / max_positions)`` per
    entry; ``"all_in"`` is backtesting.py's ``buy()`` without a size: the whole free cash,
    ``int(free * (1 - eps) // (price + commission per unit))``. Sizes are whole units.
    ``close_at_end`` closes positions still open at their symbol's last close (with costs);
    otherwise they are reported as open trades, marked to that close, like backtesting.py.
    """

    bankroll: float = 20_000.0
    max_positions: int = 5
    commission: Commission = field(default_factory=RelativeCommission)
    slippage: float = 0.0
    sizing: Sizing = "equal_weight"
    close_at_end: bool = False

    def __post_init__(self) -> None:
        if not (self.bankroll > 0 and math.isfinite(self.bankroll)):
            raise ValueError(f"bankroll must be positive, got {self.bankroll}")
        if self.max_positions < 1:
            raise ValueError(f"max_positions must be at least 1, got {self.max_positions}")
        if self.sizing not in ("equal_weight", "all_in"):
            raise ValueError(f"sizing must be 'equal_weight' or 'all_in', got {self.sizing!r}")
        if not 0 <= self.slippage < 0.1:
            raise ValueError(f"slippage must be in [0, 0.1), got {self.slippage}")


def entry_size(
    config: BacktestConfig, symbol: str, raw: float, price: float, free: float, equity: float
) -> int:
    """Whole units an entry buys (or sells short) at ``price`` (``raw``: the unslipped open).

    ``free``: cash not tied up in open positions; ``equity``: cash plus open positions marked
    at their last close. Zero or less means the entry is skipped for cash.
    """
    if config.sizing == "all_in":
        per_unit = price + config.commission(symbol, _FULL, raw) / _FULL
        size = int((free * 1.0 * _FULL) // per_unit)
        # backtesting.py cancels an order it cannot pay for rather than shrinking it.
        return size if size * per_unit <= free else 0
    budget = min(free, equity / config.max_positions)
    size = math.floor(budget / price)
    while size > 0 and size * price + config.commission(symbol, size, price) > budget:
        size -= max(1, math.ceil(config.commission(symbol, size, price) / price))
    return max(size, 0)
