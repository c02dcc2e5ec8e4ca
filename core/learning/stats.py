"""Learning data health: snapshot counts, complete vs open trades, per-field coverage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.learning.export import features_of, ledger_trades
from core.learning.fields import (
    COVERAGE_THRESHOLD,
    DAILY_FIELDS,
    ENTRY_FIELDS,
    EXIT_FIELDS,
    FEATURE_FIELDS,
    AppliesTo,
    FieldSpec,
    Snap,
)
from core.ports.ledger import Ledger


@dataclass(frozen=True, slots=True)
class FieldCoverage:
    """Non-null share of one field over the snapshots it applies to."""

    snapshot: Snap
    name: str
    applicable: int
    present: int

    @property
    def coverage(self) -> float | None:
        return self.present / self.applicable if self.applicable else None

    def below(self, threshold: float) -> bool:
        return self.coverage is not None and self.coverage < threshold


_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("market_context", ("index_", "realized_vol", "vol_regime", "indices_json")),
    ("technicals", ("macd", "bb_", "support", "resistance", "sector")),
    ("greeks", ("net_",)),
    ("option_structure", ("expiry", "dte", "short_", "long_strike", "width")),
    ("model", ("feature", "model_", "confidence", "signal", "reason")),
    ("calendar", ("session_date", "day_of_week", "minutes_", "days_to_earnings", "days_held")),
    ("pricing", ("quote_", "fill_price", "underlying_price", "risk_basis", "max_risk", "mark")),
)


def field_group(name: str) -> str:
    """The group a snapshot field belongs to (``trade`` when no other fits)."""
    return next((group for group, prefixes in _GROUPS if name.startswith(prefixes)), "trade")


@dataclass(frozen=True, slots=True)
class GroupCoverage:
    """Non-null share of a group's fields, over every field and snapshot it applies to."""

    snapshot: Snap
    group: str
    applicable: int
    present: int

    @property
    def coverage(self) -> float | None:
        return self.present / self.applicable if self.applicable else None


@dataclass(frozen=True, slots=True)
class LearningStats:
    entry_snapshots: int
    daily_snapshots: int
    exit_snapshots: int
    trades: int
    complete: int
    open: int
    orphan_exits: int
    coverage: tuple[FieldCoverage, ...]
    threshold: float = COVERAGE_THRESHOLD

    @property
    def groups(self) -> list[GroupCoverage]:
        """Coverage per snapshot kind and field group (market context, technicals, greeks...)."""
        sums: dict[tuple[Snap, str], list[int]] = {}
        for c in self.coverage:
            cell = sums.setdefault((c.snapshot, field_group(c.name)), [0, 0])
            cell[0] += c.applicable
            cell[1] += c.present
        return [GroupCoverage(s, g, a, p) for (s, g), (a, p) in sums.items()]

    @property
    def warnings(self) -> list[str]:
        """One message per field whose coverage is below the threshold."""
        return [
            f"{c.snapshot.value}.{c.name}: coverage {c.coverage:.0%} ({c.present}/{c.applicable})"
            f" below {self.threshold:.0%}"
            for c in self.coverage
            if c.below(self.threshold) and c.coverage is not None
        ]


def _applies(spec: FieldSpec, entry: Mapping[str, Any]) -> bool:
    if spec.applies_to is AppliesTo.OPTION:
        return entry.get("asset_class") == "option"
    if spec.applies_to is AppliesTo.VERTICAL:
        return entry.get("structure") == "vertical"
    if spec.applies_to is AppliesTo.FEATURE:
        return spec.path[-1] in features_of(entry.get("feature_set"))
    return True


def _present(spec: FieldSpec, payload: Mapping[str, Any]) -> bool:
    raw: Any = payload
    for part in spec.path:
        raw = raw.get(part) if isinstance(raw, Mapping) else None
    # An empty list or table (no index had data, say) says nothing: not coverage.
    return raw is not None and raw != [] and raw != {}


def stats(ledger: Ledger, account: str | None = None, threshold: float = COVERAGE_THRESHOLD) -> LearningStats:
    """Counts and per-field coverage of the learning snapshots of one or every account."""
    all_trades = ledger_trades(ledger, account)
    groups: list[tuple[Snap, tuple[FieldSpec, ...]]] = [
        (Snap.ENTRY, ENTRY_FIELDS + FEATURE_FIELDS),
        (Snap.DAILY, DAILY_FIELDS),
        (Snap.EXIT, EXIT_FIELDS),
    ]
    counts: dict[tuple[Snap, str], list[int]] = {(s, f.name): [0, 0] for s, fs in groups for f in fs}
    for trade in all_trades:
        if trade.entry is None:
            continue
        payloads: dict[Snap, list[Mapping[str, Any]]] = {
            Snap.ENTRY: [trade.entry],
            Snap.DAILY: trade.daily,
            Snap.EXIT: [trade.exit] if trade.exit is not None else [],
        }
        for snap, specs in groups:
            for spec in specs:
                if not _applies(spec, trade.entry):
                    continue
                cell = counts[(snap, spec.name)]
                for payload in payloads[snap]:
                    cell[0] += 1
                    cell[1] += _present(spec, payload)
    with_entry = [t for t in all_trades if t.entry is not None]
    complete = sum(t.exit is not None for t in with_entry)
    return LearningStats(
        entry_snapshots=len(with_entry),
        daily_snapshots=sum(len(t.daily) for t in all_trades),
        exit_snapshots=sum(t.exit is not None for t in all_trades),
        trades=len(with_entry),
        complete=complete,
        open=len(with_entry) - complete,
        orphan_exits=sum(t.entry is None and t.exit is not None for t in all_trades),
        coverage=tuple(FieldCoverage(s, name, a, p) for (s, name), (a, p) in counts.items()),
        threshold=threshold,
    )
