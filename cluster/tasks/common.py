"""What every desk task shares: the desk's paths, sessions, parquet merges and atomic JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from adapters.files import atomic_write
from configs import Settings
from core.calendar import MarketCalendar, to_new_york
from core.clock import Clock
from core.errors import InvalidValue

__all__ = [
    "INTRADAY_STRATEGIES",
    "DeskPaths",
    "account_is_intraday",
    "last_session",
    "merge_partition",
    "read_partitions",
    "session_of",
    "sessions_back",
    "trainable_strategies",
    "write_json",
]

INTRADAY_STRATEGIES: frozenset[str] = frozenset({"intraday_mean_reversion"})
"""Strategies whose accounts are flat at every close (the flatten passes close everything)."""

_FILE = "data.parquet"


@dataclass(frozen=True)
class DeskPaths:
    """Where the desk tasks read and write. ``under(root)`` gives the default layout."""

    data_dir: Path  # the parquet store: bars/, features/, labels/, learning/
    state_dir: Path  # universe.json and other desk state
    registry_root: Path  # the model registry
    tune_dir: Path  # Tune experiment directories (one per nightly run and strategy)
    reports_dir: Path  # reports/daily/<session>.json|html, reports/weekly/<date>/...

    @classmethod
    def under(cls, root: Path, data_dir: Path | None = None) -> DeskPaths:
        root = Path(root)
        return cls(
            data_dir=Path(data_dir) if data_dir is not None else root / "data",
            state_dir=root / "state",
            registry_root=root / "models",
            tune_dir=root / "tune",
            reports_dir=root / "reports",
        )

    @classmethod
    def from_settings(cls, settings: Settings, root: Path) -> DeskPaths:
        """The default layout under ``root`` with the configured bar store."""
        return cls.under(root, settings.data.data_dir)


def session_of(ts: datetime) -> date:
    """The New York calendar date of an instant."""
    return to_new_york(ts).date()


def last_session(calendar: MarketCalendar, clock: Clock) -> date:
    """The latest session that has closed at the clock's time."""
    now = clock.now()
    day = session_of(now)
    if calendar.is_session(day) and calendar.session_open_close(day)[1] <= now:
        return day
    return calendar.previous_session(day)


def sessions_back(calendar: MarketCalendar, end: date, count: int) -> list[date]:
    """The ``count`` sessions ending at ``end`` (inclusive), oldest first."""
    if count < 1:
        raise InvalidValue(f"need at least one session, got {count}")
    # Sessions are at least 5 in 7 calendar days; a margin covers holiday weeks.
    return calendar.sessions(end - timedelta(days=count * 7 // 5 + 10), end)[-count:]


def trainable_strategies(settings: Settings) -> list[str]:
    """The configured strategies that have a model (a feature set), sorted."""
    from training.dataset import FEATURE_SETS

    return sorted({s for a in settings.accounts for s in a.strategies if s in FEATURE_SETS})


def account_is_intraday(strategies: Sequence[str], intraday: frozenset[str] = INTRADAY_STRATEGIES) -> bool:
    return any(s in intraday for s in strategies)


def _partition(root: Path, kind: str, timeframe: str, symbol: str) -> Path:
    return root / kind / f"timeframe={timeframe}" / f"symbol={symbol}" / _FILE


def merge_partition(root: Path, kind: str, timeframe: str, frame: pl.DataFrame) -> int:
    """Merge ``frame`` (with ``symbol`` and ``ts``) into ``root/kind/timeframe=/symbol=/``.

    Rows are keyed by ``ts`` within a symbol; a new row replaces a stored one (so a rerun is
    idempotent). Each partition is staged and renamed into place. Returns the rows written.
    """
    for (symbol,), part in frame.partition_by("symbol", as_dict=True).items():
        target = _partition(root, kind, timeframe, str(symbol))
        merged = part.drop("symbol")
        if target.exists():
            old = pl.read_parquet(target, hive_partitioning=False)
            merged = pl.concat([old, merged], how="diagonal_relaxed").unique(subset="ts", keep="last")
        target.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        merged.sort("ts").write_parquet(buffer)
        atomic_write(target, buffer.getvalue())
    return frame.height


def read_partitions(
    root: Path, kind: str, timeframe: str, symbols: Sequence[str] | None = None
) -> pl.DataFrame:
    """Every stored row of ``kind``/``timeframe`` (with ``symbol``); empty if none."""
    base = root / kind / f"timeframe={timeframe}"
    frames = []
    for path in sorted(base.glob(f"symbol=*/{_FILE}")):
        symbol = path.parent.name.removeprefix("symbol=")
        if symbols is None or symbol in symbols:
            frames.append(
                pl.read_parquet(path, hive_partitioning=False).with_columns(pl.lit(symbol).alias("symbol"))
            )
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as JSON atomically (``adapters.files.atomic_write``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path
