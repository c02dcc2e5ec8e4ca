"""``raydesk backtest`` through a tiny Typer app (the lead registers it in ``main.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import typer
from typer.testing import CliRunner

from adapters.store import BAR_SCHEMA, BarStore
from cluster.cli.backtest_cmd import backtest

app = typer.Typer()
app.command("backtest")(backtest)


@app.callback()
def _root() -> None:
    """Keeps ``backtest`` a sub-command, as in the real app."""


def _store(root: Path) -> None:
    rng = np.random.default_rng(5)
    frames = []
    for s in ("AAA", "BBB", "CCC"):
        n = 300
        close = 40 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        opens = np.concatenate(([40.0], close[:-1]))
        frames.append(
            pl.DataFrame(
                {
                    "symbol": [s] * n,
                    "ts": [datetime(2022, 1, 3, 21, tzinfo=UTC) + timedelta(days=i) for i in range(n)],
                    "open": opens,
                    "high": np.maximum(opens, close) * 1.01,
                    "low": np.minimum(opens, close) * 0.99,
                    "close": close,
                    "volume": np.full(n, 1e5),
                    "bid": None,
                    "ask": None,
                }
            ).cast(BAR_SCHEMA)  # type: ignore[arg-type]
        )
    BarStore(root).write(pl.concat(frames), "1d")


def test_backtest_prints_metrics_and_writes_the_report(tmp_path: Path) -> None:
    _store(tmp_path / "data")
    args = [
        "backtest", "--strategy", "sma_cross", "--symbols", "AAA,BBB,ccc", "--start", "2022-01-01",
        "--end", "2022-10-01", "--bankroll", "20000", "--max-positions", "2", "--commission", "0.001",
        "--report-dir", str(tmp_path / "reports"), "--data-dir", str(tmp_path / "data"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for label in ("Total return", "CAGR", "Sharpe", "Sortino", "Max drawdown", "Win rate", "Profit factor"):
        assert label in result.output
    out = tmp_path / "reports" / "backtest_sma_cross_20220101_20221001"
    assert {p.name for p in out.iterdir()} == {"equity.png", "report.html", "trades.csv"}


def test_unknown_strategy_and_missing_data_fail_with_a_message(tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--symbols", "AAA", "--start", "2022-01-01", "--end", "2022-02-01", "--data-dir", str(tmp_path)]
    bad = runner.invoke(app, ["backtest", "--strategy", "nope", *common])
    assert bad.exit_code == 2 and "unknown strategy" in bad.output
    empty = runner.invoke(app, ["backtest", "--strategy", "sma_cross", *common])
    assert empty.exit_code == 1 and "no 1d bars" in empty.output
