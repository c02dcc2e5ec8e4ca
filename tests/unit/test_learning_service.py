"""SnapshotService on a real SqliteLedger fed by the SimExchange: hand-checked numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.learning import EntryContext, SnapshotService
from core.ports.ledger import SnapshotKind
from tests.unit.test_learning_support import (
    ACCT,
    BUY,
    D1,
    D2,
    SELL,
    SYNB,
    T_EXIT,
    Desk,
    close_equity,
    close_vertical,
    dailies,
    equity_marks,
    full_run,
    index_context,
    open_equity,
    open_vertical,
)


def _by_kind(desk: Desk, kind: SnapshotKind, trade_fragment: str) -> list[dict[str, object]]:
    return [
        dict(s.payload) for s in desk.ledger.snapshots(ACCT, kind) if trade_fragment in s.payload["trade_id"]
    ]


def test_equity_round_trip(tmp_path: Path) -> None:
    desk = Desk(tmp_path, index_context())
    assert len(open_equity(desk)) == 1
    dailies(desk)
    assert len(close_equity(desk)) == 1

    (entry,) = _by_kind(desk, SnapshotKind.ENTRY, "|SYNB|")
    assert entry["trade_id"] == "paper1|SYNB|SIM-F00000001"
    assert entry["fill_price"] == 100.0 and entry["quote_mid"] == pytest.approx(99.99)
    assert entry["risk_basis"] == 1000.0 and entry["structure"] == "equity" and entry["direction"] == "long"
    assert entry["model_version"] == "v3" and entry["features"]["zscore"] == -2.1  # type: ignore[index]
    assert (entry["day_of_week"], entry["minutes_since_open"], entry["minutes_to_close"]) == (0, 30.0, 360.0)
    assert entry["index_symbol"] == "SYNA"  # SPX is configured first but has no data
    assert entry["index_trend"] in ("up", "down", "flat") and entry["vol_regime"] in ("low", "normal", "high")
    assert entry["days_to_earnings"] == 12 and entry["net_delta"] is None

    d1, d2 = _by_kind(desk, SnapshotKind.DAILY, "|SYNB|")
    assert (d1["pnl"], d1["pnl_pct"], d1["days_held"]) == (30.0, 3.0, 0)
    assert (d2["pnl"], d2["pnl_pct"], d2["days_held"]) == (-20.0, -2.0, 1)

    (exit_,) = _by_kind(desk, SnapshotKind.EXIT, "|SYNB|")
    # path: +30 (Mon close), +50 (Tue intraday mark at 105), -20 (Tue close), +20 (sold at 102)
    assert exit_["realized_pnl"] == 20.0 and exit_["return_on_risk"] == 2.0
    assert (exit_["mfe"], exit_["mae"], exit_["path_points"]) == (50.0, -20.0, 4)
    assert exit_["capture_efficiency"] == pytest.approx(0.4)
    assert exit_["quality_score"] == pytest.approx(100 * (0.4 * 0.51 + 0.3 * 0.4 + 0.3 * 0.98))  # 61.8
    assert (exit_["holding_minutes"], exit_["holding_days"], exit_["win"]) == (2940.0, 2, True)
    assert exit_["underlying_change"] == pytest.approx(102.01 - 99.99)


def test_put_credit_spread_round_trip(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    assert len(open_vertical(desk)) == 1  # two leg fills, one trade
    dailies(desk)
    assert len(close_vertical(desk)) == 1  # only the fill that flattens the last leg closes it

    (entry,) = _by_kind(desk, SnapshotKind.ENTRY, "vt-open")
    assert (entry["structure"], entry["direction"], entry["legs_count"]) == ("vertical", "credit", 2)
    assert (entry["short_strike"], entry["long_strike"], entry["width"], entry["dte"]) == (
        95.0,
        90.0,
        5.0,
        18,
    )
    # short 95P (2.00/2.10, Δ -0.30) + long 90P (0.90/1.00, Δ -0.12), per spread
    assert entry["quote_mid"] == pytest.approx(-1.10)
    assert (entry["quote_bid"], entry["quote_ask"]) == (pytest.approx(-1.20), pytest.approx(-1.00))
    assert entry["net_delta"] == pytest.approx(0.18) and entry["net_gamma"] == pytest.approx(-0.02)
    assert entry["net_theta"] == pytest.approx(0.02) and entry["net_vega"] == pytest.approx(-0.04)
    assert entry["net_iv"] == pytest.approx(0.275) and entry["short_delta"] == -0.30
    assert entry["risk_basis"] == pytest.approx((5 - 1.10) * 2 * 100)  # 780
    assert entry["model_version"] == "rules" and entry["model_score"] is None

    d1, d2 = _by_kind(desk, SnapshotKind.DAILY, "vt-open")
    # short 2 @2.00 marked 2.50 (-100), long 2 @1.00 marked 1.10 (+20), 2.60 commission paid
    assert (d1["unrealized_pnl"], d1["pnl"]) == (-80.0, pytest.approx(-82.60))
    assert d1["short_strike_distance"] == 3.0 and d1["short_strike_distance_pct"] == pytest.approx(300 / 98)
    assert d2["pnl"] == pytest.approx(77.40) and d2["dte"] == 17

    (exit_,) = _by_kind(desk, SnapshotKind.EXIT, "vt-open")
    realized = (1.00 - 0.60) * 2 * 100 - 4 * 2 * 0.65  # credit 1.00, debit 0.60, 8 contracts × 0.65
    assert exit_["realized_pnl"] == pytest.approx(realized) and exit_["commissions"] == pytest.approx(5.20)
    assert (exit_["mfe"], exit_["mae"]) == (pytest.approx(77.40), pytest.approx(-82.60))
    assert exit_["capture_efficiency"] == pytest.approx(realized / 77.40)
    assert exit_["return_on_risk"] == pytest.approx(realized / 780 * 100)
    outcome, capture, pain = 0.5 + 0.5 * realized / 780, realized / 77.40, 1 - 82.60 / 780
    assert exit_["quality_score"] == pytest.approx(100 * (0.4 * outcome + 0.3 * capture + 0.3 * pain))
    assert exit_["iv_change"] == pytest.approx(0.245 - 0.275)
    assert (exit_["underlying_change"], exit_["underlying_change_pct"]) == (4.0, 4.0)


def test_snapshots_are_idempotent_across_reruns_and_restarts(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    open_equity(desk)
    open_vertical(desk)
    dailies(desk)
    before = len(desk.ledger.snapshots(ACCT))
    # the same day again, by the same service and by a restarted one over the same ledger
    assert desk.service.daily(ACCT, D2, equity_marks("1", "2", D2)) == []
    restarted = SnapshotService(desk.ledger, desk.clock)
    assert [t.trade_id.split("|")[1] for t in restarted.open_trades(ACCT)] == ["SYNB:vt-open", "SYNB"]
    assert restarted.daily(ACCT, D1, equity_marks("1", "2", D1)) == []
    # replayed fills change nothing
    for fill in desk.ledger.fills(ACCT):
        flat = desk.position(fill.instrument).__class__.flat(ACCT, fill.instrument)
        assert restarted.on_fill(fill, flat, desk.position(fill.instrument)) == []
    assert len(desk.ledger.snapshots(ACCT)) == before
    desk.service = restarted  # the restarted actor closes the trades
    close_equity(desk)
    close_vertical(desk)
    assert len(desk.ledger.snapshots(ACCT, SnapshotKind.EXIT)) == 2
    for fill in desk.ledger.fills(ACCT)[-3:]:
        assert restarted.on_fill(fill, desk.position(fill.instrument), desk.position(fill.instrument)) == []
    assert len(desk.ledger.snapshots(ACCT)) == before + 2
    # the restart lost the Tuesday intraday mark: the excursions rest on the dailies and the exit
    (exit_,) = _by_kind(desk, SnapshotKind.EXIT, "|SYNB|")
    assert (exit_["mfe"], exit_["path_points"]) == (30.0, 3)


def test_a_flip_closes_the_trade_and_opens_the_next(tmp_path: Path) -> None:
    desk = Desk(tmp_path, margin=True)
    open_equity(desk)  # long 10 at 100.00
    desk.at(T_EXIT).quote(SYNB, "101.00", "101.02")
    desk.market_order("eq-flip", SYNB, SELL, 15)
    desk.quote(SYNB, "101.00", "101.02")
    assert len(desk.pump(EntryContext(strategy="flip"))) == 2
    (exit_,) = _by_kind(desk, SnapshotKind.EXIT, "")
    assert exit_["realized_pnl"] == 10.0  # 10 × (101.00 - 100.00); the other 5 open the short
    entries = _by_kind(desk, SnapshotKind.ENTRY, "")
    short = entries[-1]
    assert (short["direction"], short["entry_fill_quantity"], short["entry_ts"]) == (
        "short",
        5.0,
        T_EXIT.isoformat(),
    )
    desk.market_order("eq-cover", SYNB, BUY, 5)
    desk.quote(SYNB, "100.50", "100.60")
    desk.pump()
    last = _by_kind(desk, SnapshotKind.EXIT, "")[-1]
    assert last["trade_id"] == short["trade_id"] and last["realized_pnl"] == pytest.approx(
        5 * (101.00 - 100.60)
    )


def test_full_run_writes_two_entries_four_dailies_two_exits(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    full_run(desk)
    kinds = [s.kind for s in desk.ledger.snapshots(ACCT)]
    assert (
        kinds.count(SnapshotKind.ENTRY),
        kinds.count(SnapshotKind.DAILY),
        kinds.count(SnapshotKind.EXIT),
    ) == (2, 4, 2)
    assert desk.service.open_trades(ACCT) == []
