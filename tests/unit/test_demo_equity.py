"""The demo report's equity curves: an options-only demo has none to draw, and says so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from adapters.store import BarStore
from cluster.demo import DemoPlan
from cluster.demo_steps import _plot, equity_curves
from configs import Settings
from configs.accounts import AccountConfig
from configs.components import LedgerConfig

SESSION = date(2025, 12, 31)


def test_an_options_only_demo_has_an_empty_curve_and_still_plots(tmp_path: Path) -> None:
    plan = DemoPlan(tmp_path, ("SYNA",), SESSION, date(2025, 12, 1), accounts=("options",))
    store = BarStore(plan.data_dir)
    store.write(generate_bars(SyntheticMarketConfig(seed=7, symbols=("SYNA",), start=SESSION, end=SESSION)), "1m")
    options = AccountConfig(id="options", broker="sim", strategies=["trident"])
    settings = Settings(accounts=[options], ledger=LedgerConfig(path=tmp_path / "ledger.sqlite3"))
    SqliteLedger(tmp_path / "ledger.sqlite3").close()
    curves = equity_curves(plan, settings, store)
    assert curves.height == 0 and curves.columns == ["ts", "account", "equity"]
    _plot(curves, tmp_path / "equity.png", "options only")
    assert (tmp_path / "equity.png").stat().st_size > 0
