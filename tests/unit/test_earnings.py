"""Earnings blackouts: dates imported from a CSV, counted in sessions, applied by the universe."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BarStore
from adapters.store.earnings import import_earnings, load_earnings
from cluster.cli.main import app
from cluster.tasks.common import DeskPaths
from cluster.tasks.premarket import universe_refresh
from configs import Settings
from configs.components import DataConfig
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.earnings import EarningsCalendar
from core.errors import DataError

CAL = MarketCalendar()
NEXT = date(2025, 2, 18)  # a Tuesday, after the Presidents' Day holiday (Monday 17th)


def test_distances_are_counted_in_sessions() -> None:
    earnings = EarningsCalendar.of([("SYNA", date(2025, 2, 19)), ("SYNA", date(2025, 1, 30))])
    # Friday the 14th to Wednesday the 19th: the 18th and the 19th (the weekend and the holiday are no sessions)
    assert earnings.days_to_earnings("SYNA", date(2025, 2, 14), CAL) == 2
    assert earnings.days_to_earnings("SYNA", date(2025, 2, 19), CAL) == 0
    assert earnings.days_to_earnings("SYNA", date(2025, 2, 20), CAL) is None
    assert earnings.days_to_earnings("SYNB", date(2025, 2, 14), CAL) is None


@pytest.mark.parametrize(
    ("session", "blacked_out"),
    [
        (date(2025, 2, 12), False),  # 3 sessions before
        (date(2025, 2, 13), True),  # 2 before (13th -> 14th, 18th)
        (date(2025, 2, 18), True),  # the day of the report
        (date(2025, 2, 20), True),  # 2 after
        (date(2025, 2, 21), False),  # 3 after
    ],
)
def test_blackout_is_n_sessions_either_side(session: date, blacked_out: bool) -> None:
    earnings = EarningsCalendar.of([("SYNA", date(2025, 2, 18))])
    reason = earnings.blackout("SYNA", session, 2, CAL)
    assert (reason is not None) == blacked_out
    assert earnings.blackout("SYNA", date(2025, 2, 18), 0, CAL) is None  # 0 turns it off


def test_import_merges_and_refuses_bad_rows_naming_their_lines(tmp_path: Path) -> None:
    good = tmp_path / "earnings.csv"
    good.write_text("Symbol,Date,Time\nSYNA,2025-02-18,amc\nSYNB,2025-04-30,bmo\n")
    first = import_earnings(good, tmp_path / "data")
    assert (first.rows, first.symbols, first.stored) == (2, ("SYNA", "SYNB"), 2)
    assert import_earnings(good, tmp_path / "data").stored == 2  # a re-import changes nothing
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date\nSYNC,2025-02-18\nsync,2025-02-19\nSYND,18/02/2025\n")
    with pytest.raises(DataError, match=r"2 bad row\(s\).*line\(s\) 3, 4"):
        import_earnings(bad, tmp_path / "data")
    assert load_earnings(tmp_path / "data").dates == {
        "SYNA": (date(2025, 2, 18),),
        "SYNB": (date(2025, 4, 30),),
    }


def test_cli_imports_with_named_columns(tmp_path: Path) -> None:
    csv = tmp_path / "e.csv"
    csv.write_text("ticker,report\nSYNA,2025-02-18\n")
    args = ["data", "import-earnings", str(csv), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(app, [*args, "--symbol-column", "ticker", "--date-column", "report"])
    assert result.exit_code == 0, result.output
    assert "imported 1 earnings date(s) of SYNA" in result.output
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "no 'symbol' column" in refused.output


def test_universe_drops_a_symbol_in_its_blackout_for_the_next_session(tmp_path: Path) -> None:
    config = SyntheticMarketConfig(seed=3, symbols=("SYNA", "SYNB"), start=date(2025, 1, 2), end=date(2025, 2, 14))
    bars = generate_bars(config)
    store = BarStore(tmp_path / "data")
    store.write(daily_bars(bars), "1d")
    paths = DeskPaths.under(tmp_path, tmp_path / "data")
    settings = Settings(data=DataConfig(symbols=["SYNA", "SYNB"], earnings_blackout_sessions=2))
    clock = SimClock(datetime(2025, 2, 14, 23, 0, tzinfo=UTC))
    (tmp_path / "e.csv").write_text("symbol,date\nSYNA,2025-02-19\nSYNB,2025-03-20\n")
    import_earnings(tmp_path / "e.csv", paths.data_dir)
    universe_refresh(settings, paths, clock, store, CAL, session=NEXT)
    saved = json.loads((paths.state_dir / "universe.json").read_text())
    assert saved["symbols"] == ["SYNB"]
    assert saved["excluded"]["SYNA"].startswith("earnings on 2025-02-19 in 1 session(s)")
    assert saved["stats"]["SYNA"]["days_to_earnings"] == 1
    assert saved["stats"]["SYNB"]["days_to_earnings"] == 22  # sessions from 02-18 to 03-20
