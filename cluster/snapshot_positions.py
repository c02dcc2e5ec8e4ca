"""``snapshot_positions``: today's daily learning snapshot of every open trade, on demand.

Marks come from the quote cache when the desk's Redis is reachable, else (equities only) from
the last stored daily close; the snapshot service writes each trade's snapshot once per
session, so running it again the same day writes nothing new.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from adapters.store import BarStore
from adapters.store.market_context import snapshot_context
from configs import Settings
from core.calendar import to_new_york
from core.clock import Clock
from core.learning import SnapshotService
from core.learning.context import Mark
from core.model import AccountId, AssetClass, InstrumentId, Price, Quote
from core.ports.cache import QuoteCache
from core.ports.ledger import Ledger

__all__ = ["snapshot_positions"]


def snapshot_positions(
    settings: Settings, ledger: Ledger, clock: Clock, quotes: QuoteCache | None = None
) -> dict[str, int]:
    """Daily snapshots written per account (accounts without open trades write none)."""
    context, technicals = snapshot_context(settings.data)
    service = SnapshotService(ledger, clock, context, technicals=technicals)
    store = BarStore(settings.data.data_dir)
    now = clock.now()
    written: dict[str, int] = {}
    for account in settings.accounts:
        aid = AccountId(account.id)
        marks: dict[str, Mark] = {}
        for position in ledger.positions(aid):
            if position.is_flat:
                continue
            iid = str(position.instrument.id)
            quote = quotes.get(iid) if quotes is not None else None
            if quote is None and position.instrument.asset_class is AssetClass.EQUITY:
                quote = _last_close(store, iid, now)
            if quote is not None:
                marks[iid] = quote
        written[account.id] = len(service.daily(aid, now, marks))
    return written


def _last_close(store: BarStore, symbol: str, now: datetime) -> Quote | None:
    session = to_new_york(now).date()
    bars = store.read("1d", [symbol], None, session).filter(pl.col("ts") <= now)
    if bars.height == 0:
        return None
    ts, close = bars.select("ts", "close").row(-1)
    price = Price(repr(close))
    return Quote(InstrumentId(symbol), price, price, ts)
