"""Feature rows of a window's latest bars (for the scorer) and the ATR used to size entries.

``latest_features`` gives each symbol's ``latest_row``. The polars expressions cost ~10 ms
a call whatever the row count, so intraday rows come from ``intraday_row`` (numpy, the same
definitions on the last bar only; a test pins it to the batch values) and the expressions
run only for the swing set or a window with missing prices. Sizing uses ``sizing_atr``, a
plain-Python ATR with the intraday ``atr`` definition (a test pins the two together).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime

import polars as pl

from core.features import FeatureSetName, feature_names, intraday_features, swing_features
from core.features.sessions import session_expr
from core.trading.intraday_row import latest_intraday_row
from core.trading.sizing import wilder_atr
from core.trading.window import RollingBars


def latest_features(
    window: RollingBars, symbols: Collection[str], feature_set: FeatureSetName
) -> dict[str, dict[str, float]]:
    """Features of each symbol's last bar (NaN where undefined), by symbol."""
    rows: dict[str, dict[str, float]] = {}
    if feature_set == "intraday":
        for symbol in sorted(set(symbols)):
            fast = latest_intraday_row(window, symbol)
            if fast is not None:
                rows[symbol] = fast
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
