"""``raydesk learning snapshot-positions`` and the per-group coverage of ``learning stats``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from adapters.store.market_context import SYMBOL_METADATA, snapshot_context
from cluster.cli.main import app
from configs.components import DataConfig
from core.ports.ledger import SnapshotKind
from tests.unit.test_learning_support import ACCT, Desk, open_equity
from tests.unit.test_stored_market_context import store_with_history


def test_snapshot_positions_on_demand_and_stats_per_group(tmp_path: Path) -> None:
    store_with_history(tmp_path / "data")
    (tmp_path / "data" / SYMBOL_METADATA).write_text(json.dumps({"SYNB": {"sector": "Technology"}}))
    context, technicals = snapshot_context(DataConfig(data_dir=tmp_path / "data"))
    desk = Desk(tmp_path, context)
    desk.service.technicals = technicals
    open_equity(desk)
    desk.ledger.close()
    config = tmp_path / "desk.toml"
    config.write_text(
        f'[data]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[[accounts]]\nid = "{ACCT}"\nbroker = "sim"\nstrategies = ["intraday_mean_reversion"]\n'
    )
    env = {"RAYDESK_CONFIG": str(config)}
    runner = CliRunner()
    args = ["learning", "snapshot-positions", "--ledger", str(desk.path)]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert f"{ACCT}: 1 daily snapshot(s) written" in first.output
    again = runner.invoke(app, args, env=env)
    assert f"{ACCT}: 0 daily snapshot(s) written" in again.output  # once per trade and session
    reopened = Desk(tmp_path)
    [daily] = reopened.ledger.snapshots(ACCT, SnapshotKind.DAILY)
    assert daily.payload["mark"] is not None  # the last stored close of SYNB
    reopened.ledger.close()

    shown = runner.invoke(app, ["learning", "stats", "--ledger", str(desk.path)], env=env)
    assert shown.exit_code == 0, shown.output
    groups = {tuple(line.split()[:3]) for line in shown.output.splitlines() if line.strip()}
    assert ("entry", "market_context", "100%") in groups
    assert ("entry", "technicals", "100%") in groups
