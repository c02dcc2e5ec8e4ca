"""``fetch_bars``: Alpaca's historical bars into the parquet store (``raydesk data fetch``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.data import AlpacaMarketData
from adapters.brokers.alpaca.rest import data_client
from adapters.store import BarStore
from configs.accounts import AlpacaCredentials
from core.clock import LiveClock

CHUNK = timedelta(days=7)
"""One request (and one store write) per week of bars: a year of minute bars never sits in memory."""


@dataclass(frozen=True, slots=True)
class FetchReport:
    rows: int
    symbols: tuple[str, ...]
    first: datetime | None
    last: datetime | None


def fetch_bars(
    credentials: AlpacaCredentials,
    store: BarStore,
    symbols: list[str],
    timeframe: str,
    start: datetime,
    end: datetime,
    environ: Mapping[str, str] | None = None,
) -> FetchReport:
    """Bars of ``symbols`` with ``start <= ts < end`` merged into ``store`` (idempotent: a bar
    already stored is replaced by the fetched one). Keys as for an account (``APCA_*``)."""
    settings = AlpacaSettings.from_credentials(
        "", credentials, False, "data fetch --source alpaca", environ=environ
    )
    data = AlpacaMarketData(data_client(settings), settings, LiveClock())
    rows, seen, first, last = 0, set[str](), None, None
    at = start
    while at < end:
        until = min(at + CHUNK, end)
        frame = data.history(symbols, timeframe, at, until)
        if frame.height:
            rows += store.write(frame, timeframe)
            seen |= set(frame["symbol"].unique().to_list())
            first = first or frame["ts"].min()
            last = frame["ts"].max()
        at = until
    return FetchReport(rows, tuple(sorted(seen)), first, last)  # type: ignore[arg-type]
