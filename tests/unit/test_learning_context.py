"""Market and entry context: EMA trend, realized-vol regime, suggestions as entry context."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from core.learning import EntryContext
from core.learning.context import index_state, vol_regime
from core.model import AccountId, Money, OrderLeg, Quantity, StrategyId, Suggestion
from tests.unit.test_learning_support import BUY, SYNB, index_context, market


def test_ema_trend_matches_polars_ewm_and_reads_the_direction() -> None:
    closes = [100 * 1.002**i for i in range(120)]
    state = index_state("IDX", closes)
    assert state is not None and state.trend == "up" and state.level == closes[-1]
    # seeded with the SMA of the first 20 closes, then the usual recursion
    seeded = [sum(closes[:20]) / 20, *closes[20:]]
    expected = pl.Series(seeded).ewm_mean(span=20, adjust=False)[-1]
    assert state.ema_fast == pytest.approx(expected)
    assert state.return_5d_pct == pytest.approx((1.002**5 - 1) * 100)
    assert index_state("IDX", [100.0] * 10) is not None and index_state("IDX", []) is None


def test_vol_regime_is_the_percentile_of_the_current_realized_vol() -> None:
    quiet = [100 * math.exp(0.001 * (-1) ** i) for i in range(200)]
    loud_end = quiet + [quiet[-1] * math.exp(0.03 * (-1) ** i) for i in range(25)]
    vol, pct, regime = vol_regime(loud_end) or (0.0, 0.0, "")
    assert regime == "high" and pct == 100.0 and vol > 0.3
    assert vol_regime([100.0] * 5) is None


def test_synthetic_index_proxy_never_reads_past_the_entry() -> None:
    at = datetime(2025, 6, 2, 14, tzinfo=UTC)
    ctx = index_context().market_context(at)
    assert ctx.primary is not None and ctx.primary.symbol == "SYNA"
    daily = market().bars("SYNA", end=at, timeframe="1d")
    assert daily["ts"].to_list()[-1] < at and ctx.primary.ema_slow is not None
    assert ctx.vol_regime in ("low", "normal", "high")


def test_entry_context_from_a_suggestion() -> None:
    suggestion = Suggestion(
        AccountId("paper1"),
        StrategyId("swing_trend"),
        date(2025, 6, 2),
        "SYNB:long:2025-06-02",
        (OrderLeg(SYNB, BUY),),
        Quantity(10),
        datetime(2025, 6, 2, 14, tzinfo=UTC),
        confidence=0.8,
        reason="trend",
        max_risk=Money(250),
    )
    ctx = EntryContext.from_suggestion(suggestion, {}, {"adx": 30.0}, "swing", 0.66, "v7")
    assert (ctx.strategy, ctx.model_version, ctx.legs) == ("swing_trend", "v7", suggestion.legs)
    assert ctx.max_risk == Decimal(250) and ctx.features == {"adx": 30.0}
