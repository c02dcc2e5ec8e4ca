"""Export the learning snapshots as one row per trade (entry → daily aggregates → exit).

The columns and their polars types are ``fields.EXPORT_FIELDS``, independent of the data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import InvalidValue
from core.features import feature_names
from core.learning.fields import (
    DAILY_AGG_FIELDS,
    ENTRY_FIELDS,
    EXIT_FIELDS,
    EXPORT_FIELDS,
    FEATURE_FIELDS,
    FEATURE_NAMES,
    FieldSpec,
    FieldType,
    export_schema,
)
from core.model import AccountId
from core.ports.ledger import Ledger, Snapshot, SnapshotKind


@dataclass(slots=True)
class TradeSnapshots:
    """The snapshots of one trade."""

    trade_id: str
    entry: Mapping[str, Any] | None = None
    daily: list[Mapping[str, Any]] = field(default_factory=list)
    exit: Mapping[str, Any] | None = None


def accounts(ledger: Ledger) -> list[str]:
    """Accounts with at least one snapshot, from the ledger's event log."""
    seen: set[str] = set()
    for kind in SnapshotKind:
        after = 0
        while events := ledger.events(after_seq=after, limit=1000, kind=f"snapshot.{kind.value}"):
            seen.update(str(e.account_id) for e in events if e.account_id is not None)
            after = events[-1].seq
    return sorted(seen)


def trades(snapshots: Sequence[Snapshot]) -> list[TradeSnapshots]:
    """Group snapshots by ``trade_id`` (first seen first); dailies sorted by session."""
    out: dict[str, TradeSnapshots] = {}
    for snap in snapshots:
        tid = str(snap.payload.get("trade_id"))
        trade = out.setdefault(tid, TradeSnapshots(tid))
        if snap.kind is SnapshotKind.ENTRY:
            trade.entry = snap.payload
        elif snap.kind is SnapshotKind.EXIT:
            trade.exit = snap.payload
        else:
            trade.daily.append(snap.payload)
    for trade in out.values():
        trade.daily.sort(key=lambda p: str(p.get("session_date")))
    return list(out.values())


def ledger_trades(ledger: Ledger, account: str | None = None) -> list[TradeSnapshots]:
    """Every trade of ``account`` (or of all accounts) in the ledger."""
    names = [account] if account is not None else accounts(ledger)
    return [t for name in names for t in trades(ledger.snapshots(AccountId(name)))]


def value(spec: FieldSpec, payload: Mapping[str, Any] | None) -> Any:
    """The field's value in ``payload`` converted to its export type (None if absent)."""
    raw: Any = payload
    for part in spec.path:
        raw = raw.get(part) if isinstance(raw, Mapping) else None
    if raw is None:
        return None
    if spec.type is FieldType.JSON:
        return json.dumps(raw, sort_keys=True)
    if spec.type is FieldType.DATETIME:
        return datetime.fromisoformat(raw)
    if spec.type is FieldType.DATE:
        return date.fromisoformat(raw)
    if spec.type is FieldType.FLOAT:
        return float(raw)
    if spec.type is FieldType.INT:
        return int(raw)
    if spec.type is FieldType.BOOL:
        return bool(raw)
    return str(raw)


def _daily_aggregates(daily: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    pnls = [float(p["pnl"]) for p in daily if p.get("pnl") is not None]
    dists = [
        float(p["short_strike_distance_pct"]) for p in daily if p.get("short_strike_distance_pct") is not None
    ]
    last = daily[-1] if daily else {}
    row = {
        "daily_count": len(daily),
        "daily_last_pnl": last.get("pnl"),
        "daily_max_pnl": max(pnls) if pnls else None,
        "daily_min_pnl": min(pnls) if pnls else None,
        "daily_last_pnl_pct": last.get("pnl_pct"),
        "daily_last_mark": last.get("mark"),
        "daily_min_short_strike_distance_pct": min(dists) if dists else None,
        "daily_last_days_held": last.get("days_held"),
    }
    assert set(row) == {f.name for f in DAILY_AGG_FIELDS}
    return row


def trade_row(trade: TradeSnapshots) -> dict[str, Any]:
    """One export row (``trade.entry`` must be set)."""
    entry = trade.entry or {}
    row: dict[str, Any] = {
        "trade_id": trade.trade_id,
        "account": entry.get("account"),
        "schema_version": entry.get("schema_version"),
    }
    row |= {f.name: value(f, entry) for f in (*ENTRY_FIELDS, *FEATURE_FIELDS)}
    row |= _daily_aggregates(trade.daily)
    row |= {f.name: value(f, trade.exit) for f in EXIT_FIELDS}
    row["is_complete"] = trade.exit is not None
    return row


def export(ledger: Ledger, account: str | None = None) -> pl.DataFrame:
    """One row per trade with an entry snapshot, ordered by entry time; see ``EXPORT_FIELDS``."""
    rows = [trade_row(t) for t in ledger_trades(ledger, account) if t.entry is not None]
    frame = (
        pl.DataFrame(rows, schema=export_schema(), orient="row")
        if rows
        else pl.DataFrame(schema=export_schema())
    )
    return frame.sort("entry_ts", "trade_id", nulls_last=True)


def write(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as parquet (``.parquet``/``.pq``) or CSV (``.csv``); returns the path."""
    target = Path(path)
    suffix = target.suffix.lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".parquet", ".pq"):
        frame.write_parquet(target)
    elif suffix == ".csv":
        frame.write_csv(target)
    else:
        raise InvalidValue(f"export file must end in .parquet, .pq or .csv, got {target.name!r}")
    return target


def read(path: str | Path) -> pl.DataFrame:
    """Read an export back with the documented schema (CSV columns are cast to it)."""
    source = Path(path)
    if source.suffix.lower() == ".csv":
        return pl.read_csv(source, schema=export_schema())
    return pl.read_parquet(source).cast(export_schema())  # type: ignore[arg-type]


TRAINING_COLUMNS: tuple[str, ...] = (
    "symbol",
    "ts",
    "strategy",
    "feature_set",
    *FEATURE_NAMES,
    "model_score",
    "label",
    "label_return",
    "label_end_ts",
    "quality_score",
    "source",
)


def learning_rows_for_training(frame: pl.DataFrame) -> pl.DataFrame:
    """Closed trades as extra training rows: the features at entry and the outcome label.

    Keeps complete trades that recorded a feature set. ``ts`` is the entry time, the features
    keep their own names (a feature outside the trade's set is null), ``label`` is 1 (won),
    -1 (lost) or 0 (flat), ``label_return`` realized_pnl / risk_basis, ``label_end_ts`` the
    exit time (for purging), ``source`` = "trade". Select a set's columns with
    ``core.features.feature_names(feature_set)``.
    """
    done = frame.filter(pl.col("is_complete") & pl.col("feature_set").is_not_null())
    pnl = pl.col("realized_pnl")
    risk = pl.col("risk_basis")
    return done.select(
        pl.col("symbol"),
        pl.col("entry_ts").alias("ts"),
        pl.col("strategy"),
        pl.col("feature_set"),
        *[pl.col(f"f_{n}").alias(n) for n in FEATURE_NAMES],
        pl.col("model_score"),
        pl.when(pnl > 0).then(1).when(pnl < 0).then(-1).otherwise(0).cast(pl.Int8).alias("label"),
        pl.when(risk > 0).then(pnl / risk).otherwise(None).alias("label_return"),
        pl.col("exit_ts").alias("label_end_ts"),
        pl.col("quality_score"),
        pl.lit("trade").alias("source"),
    )


def features_of(feature_set: str | None) -> tuple[str, ...]:
    """Feature names of a set name as stored in a snapshot (empty when unknown)."""
    if feature_set == "intraday":
        return feature_names("intraday")
    if feature_set == "swing":
        return feature_names("swing")
    return ()


__all__ = [
    "EXPORT_FIELDS",
    "TRAINING_COLUMNS",
    "TradeSnapshots",
    "accounts",
    "export",
    "learning_rows_for_training",
    "ledger_trades",
    "read",
    "trade_row",
    "trades",
    "write",
]
