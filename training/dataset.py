"""Feature and label frames per strategy, from stored bars or the synthetic market.

``build_dataset`` returns the bars plus ``session``, the strategy's feature columns (the same
polars expressions the strategy runs live) and the label columns:

* ``label`` (Int8, null where unknown): with ``LabelConfig.kind="direction"`` (the default)
  1 if the close ``horizon`` bars ahead is higher than this close, else 0; with
  ``"triple_barrier"`` 1 if the long-side triple barrier hits its target first, else 0.
* ``label_return``: the forward (or barrier) return behind the label.
* ``label_end_ts``: the last bar the label read, for purging in ``training.splits``.

Intraday labels never look past the session's last bar (``per_session``); swing labels look
``horizon`` daily bars ahead within the symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BarStore
from core.errors import DataError
from core.features import FeatureSetName, feature_names, intraday_features, swing_features, warmup_rows
from core.features.labels import forward_return, triple_barrier
from core.features.sessions import session_expr

__all__ = [
    "FEATURE_SETS",
    "BarSource",
    "LabelConfig",
    "build_dataset",
    "default_label",
    "feature_columns",
    "feature_set_of",
    "load_bars",
    "read_training_bars",
    "timeframe_of",
    "warmup_sessions",
]

FEATURE_SETS: dict[str, FeatureSetName] = {
    "intraday_mean_reversion": "intraday",
    "swing_trend_following": "swing",
}


@dataclass(frozen=True, slots=True)
class LabelConfig:
    """What the model learns: ``kind``, the look-ahead ``horizon`` in bars and barrier widths (ATRs)."""

    kind: Literal["direction", "triple_barrier"] = "direction"
    horizon: int = 5
    up: float = 2.0
    down: float = 2.0


def feature_set_of(strategy: str) -> FeatureSetName:
    """The feature set a strategy trains on; ``KeyError`` for a strategy without one."""
    try:
        return FEATURE_SETS[strategy]
    except KeyError:
        raise KeyError(f"no feature set for strategy {strategy!r}; known: {sorted(FEATURE_SETS)}") from None


def default_label(strategy: str) -> LabelConfig:
    """5 minutes ahead for intraday, 5 sessions ahead for swing."""
    feature_set_of(strategy)
    return LabelConfig()


def warmup_sessions(strategy: str) -> int:
    """Sessions of history a backtest window needs before its first scored bar.

    Intraday features restart at every open, so none; swing features need their full window.
    """
    return 0 if feature_set_of(strategy) == "intraday" else warmup_rows("swing")


def load_bars(
    strategy: str,
    symbols: list[str],
    start: date,
    end: date,
    data_dir: Path | None = None,
    *,
    seed: int = 7,
    edge_enabled: bool = True,
) -> pl.DataFrame:
    """Bars at the strategy's timeframe: from the store when it holds them, else synthetic."""
    intraday = feature_set_of(strategy) == "intraday"
    if data_dir is not None:
        store = BarStore(data_dir)
        timeframe = "1m" if intraday else "1d"
        if timeframe in store.timeframes() and set(symbols) <= set(store.symbols(timeframe)):
            bars = store.read(timeframe, symbols, start, end)
            if bars.height:
                return bars
    config = SyntheticMarketConfig(
        seed=seed, symbols=tuple(symbols), start=start, end=end, edge_enabled=edge_enabled
    )
    minute = generate_bars(config)
    return minute if intraday else daily_bars(minute)


def timeframe_of(strategy: str) -> str:
    """The bar size a strategy trains on: ``1m`` for intraday, ``1d`` for swing."""
    return "1m" if feature_set_of(strategy) == "intraday" else "1d"


@dataclass(frozen=True, slots=True)
class BarSource:
    """What a training run read: the store (``root``) or the synthetic market (``seed``, ``edge``)."""

    kind: Literal["store", "synthetic"]
    timeframe: str
    symbols: tuple[str, ...]
    first: datetime
    last: datetime
    rows: int
    root: str | None = None
    seed: int | None = None
    edge: bool | None = None

    def line(self) -> str:
        where = (
            f"store {self.root}"
            if self.kind == "store"
            else f"SYNTHETIC market (seed {self.seed}, edge {'on' if self.edge else 'off'})"
        )
        return (
            f"read {self.rows:,} {self.timeframe} bars of {len(self.symbols)} symbols "
            f"({', '.join(self.symbols)}) from {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d} from {where}"
        )

    def lineage(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "timeframe": self.timeframe,
            "symbols": list(self.symbols),
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "rows": self.rows,
        }
        if self.kind == "store":
            out["root"] = self.root
        else:
            out |= {"seed": self.seed, "edge": self.edge}
        return out


def read_training_bars(
    strategy: str,
    symbols: list[str],
    start: date,
    end: date,
    data_dir: Path | None,
    *,
    synthetic: bool = False,
    seed: int = 7,
    edge_enabled: bool = True,
) -> tuple[pl.DataFrame, BarSource]:
    """Bars to train on and where they came from: the store under ``data_dir``, or the synthetic
    market only when ``synthetic`` (never as a silent fallback). ``DataError`` names what is missing."""
    timeframe = timeframe_of(strategy)
    if synthetic:
        bars = load_bars(strategy, symbols, start, end, None, seed=seed, edge_enabled=edge_enabled)
    else:
        if data_dir is None:
            raise DataError(
                "no bar store given: pass data_dir (or synthetic=True to train on generated bars)"
            )
        store = BarStore(data_dir)
        stored = set(store.symbols(timeframe)) if timeframe in store.timeframes() else set()
        missing = sorted(set(symbols) - stored)
        if missing:
            raise DataError(
                f"the store {data_dir} has no {timeframe} bars of {', '.join(missing)} "
                f"(it holds: {', '.join(sorted(stored)) or 'none'}); run `raydesk data import` or "
                "`raydesk data generate`, or train with --synthetic"
            )
        bars = store.read(timeframe, symbols, start, end)
        if bars.height == 0:
            raise DataError(
                f"the store {data_dir} has no {timeframe} bars of {', '.join(symbols)} in {start}..{end}"
            )
    ts = bars["ts"]
    source = BarSource(
        "synthetic" if synthetic else "store",
        timeframe,
        tuple(sorted(bars["symbol"].unique().to_list())),
        ts.min(),  # type: ignore[arg-type]
        ts.max(),  # type: ignore[arg-type]
        bars.height,
        root=None if synthetic else str(Path(data_dir or ".").resolve()),
        seed=seed if synthetic else None,
        edge=edge_enabled if synthetic else None,
    )
    return bars, source


def build_dataset(bars: pl.DataFrame, strategy: str, label: LabelConfig | None = None) -> pl.DataFrame:
    """Bars + ``session`` + features + labels, sorted by ``(symbol, ts)`` (module docstring)."""
    feature_set = feature_set_of(strategy)
    cfg = label or default_label(strategy)
    intraday = feature_set == "intraday"
    frame = intraday_features(bars) if intraday else swing_features(bars).with_columns(session_expr())
    if cfg.kind == "direction":
        frame = forward_return(frame, cfg.horizon, per_session=intraday)
        ret, end = pl.col("fwd_return"), pl.col("fwd_end_ts")
        up = ret > 0
    else:
        frame = triple_barrier(frame, cfg.horizon, up=cfg.up, down=cfg.down, per_session=intraday)
        ret, end = pl.col("label_return"), pl.col("label_end_ts")
        up = pl.col("label") == 1
    frame = frame.with_columns(
        pl.when(ret.is_not_null() & up.is_not_null()).then(up.cast(pl.Int8)).alias("label"),
        ret.alias("label_return"),
        end.alias("label_end_ts"),
    )
    drop = [c for c in ("fwd_return", "fwd_end_ts", "label_bars") if c in frame.columns]
    keep = [c for c in frame.columns if c not in drop]
    return frame.select(keep).sort("symbol", "ts")


def feature_columns(strategy: str) -> tuple[str, ...]:
    """The model's input columns for ``strategy``, in canonical order."""
    return feature_names(feature_set_of(strategy))
