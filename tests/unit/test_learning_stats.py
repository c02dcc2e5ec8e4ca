"""Learning stats: snapshot counts, complete vs open trades, per-field coverage and warnings."""

from __future__ import annotations

from pathlib import Path

from core.learning import stats
from core.learning.fields import Snap
from core.learning.stats import LearningStats
from tests.unit.test_learning_support import ACCT, D1, Desk, full_run, open_equity


def _cov(result: LearningStats, snap: Snap, name: str) -> tuple[int, int]:
    (c,) = [c for c in result.coverage if c.snapshot is snap and c.name == name]
    return c.present, c.applicable


def test_counts_and_coverage_over_the_trades_a_field_applies_to(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    full_run(desk)
    result = stats(desk.ledger)
    assert (result.entry_snapshots, result.daily_snapshots, result.exit_snapshots) == (2, 4, 2)
    assert (result.trades, result.complete, result.open, result.orphan_exits) == (2, 2, 0, 0)
    assert _cov(result, Snap.ENTRY, "fill_price") == (2, 2)
    assert _cov(result, Snap.ENTRY, "net_delta") == (1, 1)  # options only
    assert _cov(result, Snap.ENTRY, "f_zscore") == (1, 1)  # the intraday trade only
    assert _cov(result, Snap.ENTRY, "f_atr") == (2, 2)  # in both feature sets
    assert _cov(result, Snap.ENTRY, "days_to_earnings") == (1, 2)
    assert _cov(result, Snap.DAILY, "short_strike_distance") == (2, 2)  # the spread's two dailies
    assert _cov(result, Snap.DAILY, "pnl") == (4, 4)
    assert _cov(result, Snap.EXIT, "iv_change") == (1, 1)
    warned = {w.split(":")[0] for w in result.warnings}
    assert {"entry.days_to_earnings", "entry.model_score", "entry.max_risk", "entry.reason"} <= warned
    assert "entry.fill_price" not in warned and not any(w.startswith("daily.") for w in warned)
    assert "entry.days_to_earnings: coverage 50% (1/2) below 80%" in result.warnings


def test_missing_marks_show_up_as_low_daily_coverage(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    open_equity(desk)
    desk.service.daily(ACCT, D1, {})  # the close came without a mark
    result = stats(desk.ledger, "paper1")
    assert (result.trades, result.complete, result.open) == (1, 0, 1)
    assert _cov(result, Snap.DAILY, "pnl") == (0, 1) and _cov(result, Snap.DAILY, "days_held") == (1, 1)
    assert _cov(result, Snap.EXIT, "realized_pnl") == (0, 0)
    assert any(w.startswith("daily.pnl:") for w in result.warnings)
    assert not any(w.startswith("exit.") for w in result.warnings)  # no closed trade: nothing to cover


def test_an_empty_ledger_has_no_warnings(tmp_path: Path) -> None:
    result = stats(Desk(tmp_path).ledger)
    assert result.trades == 0 and result.warnings == []
