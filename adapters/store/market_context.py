"""The production market context and technicals of learning snapshots, from stored daily bars.

``stored_market_context`` gives a ``DailyClosesContext`` whose closes come from the bar store:
for an instant ``ts``, the daily bars of sessions complete at ``ts`` (an earlier session, or
today's once the close has passed), whatever time of day the bars are stamped with. Nothing
later than ``ts`` is read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from adapters.store.bars import BarStore
from configs.components import DataConfig
from core.calendar import MarketCalendar, to_new_york
from core.errors import DataError
from core.learning.context import DailyClosesContext
from core.learning.technicals import ClosesTechnicals

__all__ = [
    "SYMBOL_METADATA",
    "StoredCloses",
    "read_sectors",
    "snapshot_context",
    "stored_market_context",
    "stored_technicals",
]

SYMBOL_METADATA = "symbols.json"
"""The symbol metadata file in the data directory: ``{"SYNA": {"sector": "Technology"}, ...}``."""


class StoredCloses:
    """``closes(symbol, ts)`` for ``DailyClosesContext`` from a ``BarStore`` (cached per session)."""

    def __init__(
        self, store: BarStore, lookback_sessions: int = 300, calendar: MarketCalendar | None = None
    ) -> None:
        self.store = store
        self.lookback_sessions = lookback_sessions
        self.calendar = calendar or MarketCalendar()
        self._cache: dict[tuple[str, date], pl.DataFrame] = {}

    def __call__(self, symbol: str, ts: datetime) -> list[float]:
        session = to_new_york(ts).date()
        bars = self._bars(symbol, session)
        if bars.height == 0:
            raise LookupError(f"no daily bars of {symbol}")
        _, close = (
            self.calendar.session_open_close(session) if self.calendar.is_session(session) else (None, None)
        )
        today_done = close is not None and ts >= close
        complete = bars.filter((pl.col("session") < session) | ((pl.col("session") == session) & today_done))
        return complete.get_column("close").to_list()

    def _bars(self, symbol: str, session: date) -> pl.DataFrame:
        key = (symbol, session)
        if key not in self._cache:
            start = session - timedelta(days=self.lookback_sessions * 7 // 5 + 10)
            bars = self.store.read("1d", [symbol], start, session).sort("ts")
            sessions = [to_new_york(t).date() for t in bars.get_column("ts").to_list()]
            # Keep only this session's reads: snapshots of one session share them.
            self._cache = {k: v for k, v in self._cache.items() if k[1] == session}
            self._cache[key] = bars.with_columns(pl.Series("session", sessions, dtype=pl.Date))
        return self._cache[key]


def stored_market_context(
    store: BarStore, indices: Sequence[str], lookback_sessions: int = 300
) -> DailyClosesContext:
    """Market context from the stored daily closes of ``indices`` (the first with data is primary)."""
    return DailyClosesContext(indices, StoredCloses(store, lookback_sessions))


def read_sectors(path: Path) -> dict[str, str]:
    """Symbol to sector from a metadata file (none: an empty mapping)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"symbol metadata {path} is not readable JSON: {type(exc).__name__}") from None
    return {str(s): str(m["sector"]) for s, m in data.items() if isinstance(m, dict) and m.get("sector")}


def stored_technicals(
    store: BarStore, sectors: dict[str, str], lookback_sessions: int = 300
) -> ClosesTechnicals:
    """MACD, Bollinger, support/resistance of a symbol's stored daily closes, and its sector."""
    return ClosesTechnicals(StoredCloses(store, lookback_sessions), sectors)


def snapshot_context(data: DataConfig) -> tuple[DailyClosesContext, ClosesTechnicals]:
    """The snapshot service's providers for a desk's data settings (one shared bar store):
    ``SnapshotService(ledger, clock, context_provider=..., technicals=...)``."""
    return snapshot_providers(Path(data.data_dir), data.index_symbols)


def snapshot_providers(
    data_dir: Path, index_symbols: Sequence[str]
) -> tuple[DailyClosesContext, ClosesTechnicals]:
    """``snapshot_context`` from the store's root and the index symbols (what an account spec holds)."""
    store = BarStore(data_dir)
    closes = StoredCloses(store)
    sectors = read_sectors(data_dir / SYMBOL_METADATA)
    return DailyClosesContext(list(index_symbols), closes), ClosesTechnicals(closes, sectors)
