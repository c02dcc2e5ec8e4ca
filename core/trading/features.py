"""Feature rows of a window's latest bars (for rules and the scorer) and the ATR used to size entries.

``latest_features`` gives each symbol's ``latest_row``; ``EventFeatures`` computes them once per
bar event for both the strategies' rules and the scorer. The polars expressions cost ~10 ms
a call whatever the row count, so intraday rows come from ``intraday_row`` (numpy, the same
definitions on the last bar only; a test pins it to the batch values) and the expressions
run only for the swing set or a window with missing prices. Sizing uses ``sizing_atr``, a
plain-Python ATR with the intraday ``atr`` definition (a test pins the two together).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from core.features import FeatureSetName, feature_names, intraday_features, swing_features
from core.features.sessions import session_expr
from core.trading.intraday_row import latest_intraday_rows
from core.trading.sizing import wilder_atr
from core.trading.window import PRICE_COLUMNS, TS_DTYPE, RollingBars

FeatureRow = dict[str, float]


def latest_features(
    window: RollingBars, symbols: Collection[str], feature_set: FeatureSetName
) -> dict[str, dict[str, float]]:
    """Features of each symbol's last bar (NaN where undefined), by symbol."""
    rows: dict[str, dict[str, float]] = {}
    if feature_set == "intraday":
        rows = latest_intraday_rows(window, sorted(set(symbols)))
        symbols = [s for s in symbols if s not in rows]
        if not symbols:
            return rows
    frame = window.frame(symbols)
    if frame.height == 0:
        return rows
    if feature_set == "intraday":
        # Intraday features restart at each open: the current session is all they can see.
        frame = frame.with_columns(session_expr()).filter(
            pl.col("session") == pl.col("session").last().over("symbol")
        )
        out = intraday_features(frame)
    else:
        out = swing_features(frame)
    names = feature_names(feature_set)
    last = out.group_by("symbol", maintain_order=True).last().select("symbol", *names)
    for row in last.iter_rows(named=True):
        rows[row["symbol"]] = {k: math.nan if row[k] is None else float(row[k]) for k in names}
    return rows


def sizing_atr(window: RollingBars, symbol: str, session_open: datetime | None) -> float | None:
    """ATR(14) of ``symbol``'s last bar: over bars since ``session_open``, or the whole window."""
    high, low, close = window.columns(symbol, ("high", "low", "close"), since=session_open)
    if len(close) == 0:
        return None
    return wilder_atr(high.tolist(), low.tolist(), close.tolist())


class EventFeatures:
    """The latest feature rows of one bar event, each (timeframe, feature set, symbol) computed once."""

    def __init__(self, windows: Mapping[str, RollingBars]) -> None:
        self._windows = windows
        self._rows: dict[tuple[str, FeatureSetName, str], FeatureRow | None] = {}  # None: no row

    def window(self, timeframe: str) -> RollingBars:
        return self._windows[timeframe]

    def rows(
        self, timeframe: str, feature_set: FeatureSetName, symbols: Collection[str]
    ) -> dict[str, FeatureRow]:
        """Features of each symbol's last bar in the ``timeframe`` window (symbols without bars left out)."""
        missing = [s for s in set(symbols) if (timeframe, feature_set, s) not in self._rows]
        if missing:
            found = latest_features(self._windows[timeframe], missing, feature_set)
            self._rows.update({(timeframe, feature_set, s): found.get(s) for s in missing})
        return {s: row for s in symbols if (row := self._rows[(timeframe, feature_set, s)]) is not None}

    def frame(self, timeframe: str, feature_set: FeatureSetName, symbols: Collection[str]) -> pl.DataFrame:
        """One row per symbol: its last bar and that bar's features (undefined ones null), by symbol."""
        rows = self.rows(timeframe, feature_set, symbols)
        names = sorted(rows)
        bars = [self._windows[timeframe].latest(s) or {} for s in names]  # a symbol with a row has a bar
        data: dict[str, Any] = {
            "symbol": pl.Series(names, dtype=pl.String),
            "ts": pl.Series([b["ts"] for b in bars], dtype=TS_DTYPE),
        }
        for c in PRICE_COLUMNS:
            data[c] = pl.Series([b[c] for b in bars], dtype=pl.Float64)
        for f in feature_names(feature_set):
            data[f] = np.array([rows[s][f] for s in names], dtype=np.float64)
        return pl.DataFrame(data, nan_to_null=True)
