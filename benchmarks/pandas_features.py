"""A plain pandas implementation of the intraday feature definitions (the benchmark baseline).

Same definitions as ``core.features.intraday`` (see ``docs/features.md``), written the way a
pandas user would: ``groupby`` + ``rolling`` / ``ewm`` per ``(symbol, session)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEW_YORK = "America/New_York"
FLAT_TOLERANCE = 1e-12


def _per_group(result: pd.Series, index: pd.Index) -> pd.Series:
    """Drop the group keys a ``groupby().rolling/ewm`` adds and realign to ``index``."""
    return result.droplevel([0, 1]).reindex(index)


def _zscore(df: pd.DataFrame, column: str, keys: list[str], n: int) -> pd.Series:
    rolling = df.groupby(keys, sort=False)[column].rolling(n)
    mean = _per_group(rolling.mean(), df.index)
    std = _per_group(df.groupby(keys, sort=False)[column].rolling(n).std(ddof=1), df.index)
    z = (df[column] - mean) / std
    return z.where(std > FLAT_TOLERANCE * mean.abs())


def _wilder(df: pd.DataFrame, column: str, keys: list[str], n: int, first: int) -> pd.Series:
    seed_row = first + n - 1
    idx = df["_idx"]
    seed = _per_group(df.groupby(keys, sort=False)[column].rolling(n).mean(), df.index)
    seeded = df[column].where(idx > seed_row).mask(idx == seed_row, seed)
    tmp = df[keys].assign(_x=seeded)
    return _per_group(tmp.groupby(keys, sort=False)["_x"].ewm(alpha=1.0 / n, adjust=False).mean(), df.index)


def pandas_intraday(bars: pd.DataFrame, hours: pd.DataFrame) -> pd.DataFrame:
    """Intraday features of ``bars``; ``hours`` has ``session, session_open, session_close``."""
    sym, ts = bars["symbol"], bars["ts"]
    ordered = (sym.gt(sym.shift()) | (sym.eq(sym.shift()) & ts.gt(ts.shift()))).iloc[1:].all()
    # Like the polars side, skip the sort when the bars already come ordered.
    df = bars if ordered else bars.sort_values(["symbol", "ts"], kind="stable")
    df = df.reset_index(drop=True)
    df["session"] = df["ts"].dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
    keys = ["symbol", "session"]
    grouped = df.groupby(keys, sort=False)
    df["_idx"] = grouped.cumcount()
    prev_close = grouped["close"].shift(1)
    change = df["close"] - prev_close
    df["_gain"] = change.clip(lower=0.0)
    df["_loss"] = (-change).clip(lower=0.0)
    df["_tr"] = np.fmax(df["high"], prev_close) - np.fmin(df["low"], prev_close)
    gain = _wilder(df, "_gain", keys, 14, 1)
    loss = _wilder(df, "_loss", keys, 14, 1)
    total = gain + loss
    df["zscore"] = _zscore(df, "close", keys, 20)
    df["rsi"] = (100.0 * gain / total).where(total > 0, 50.0).where(total.notna())
    df["atr"] = _wilder(df, "_tr", keys, 14, 0)
    df["volume_zscore"] = _zscore(df, "volume", keys, 20)
    mid = (df["ask"] + df["bid"]) / 2.0
    df["spread"] = ((df["ask"] - df["bid"]) / mid).where(mid > 0)
    df["range_pct"] = (df["high"] - df["low"]) / df["close"]
    df = df.merge(hours, on="session", how="left")
    minute = pd.Timedelta(minutes=1)
    df["minutes_since_open"] = (df["ts"] - df["session_open"]) / minute
    df["minutes_to_close"] = (df["session_close"] - df["ts"]) / minute
    return df.drop(columns=["_idx", "_gain", "_loss", "_tr", "session_open", "session_close"])
