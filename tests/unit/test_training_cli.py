"""``raydesk train`` reads the store (no silent synthetic fallback); ``raydesk backtest --model``
backtests a registered model over its lineage's bars with its gates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from typer.testing import CliRunner

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BarStore
from cluster.cli.backtest_cmd import backtest
from cluster.cli.train_cmd import store_defaults, train
from core.clock import SimClock
from training.dataset import BarSource, build_dataset, feature_columns
from training.model import ModelParams, ScoreModel
from training.registry import ModelRegistry

SWING = "swing_trend_following"
app = typer.Typer()
app.command("train")(train)
app.command("backtest")(backtest)


@app.callback()
def _root() -> None:
    """Keeps the commands sub-commands, as in the real app."""


def _store(root: Path) -> Path:
    config = SyntheticMarketConfig(
        seed=2, symbols=("SYNA", "SYNB"), start=date(2022, 1, 3), end=date(2023, 12, 29)
    )
    BarStore(root).write(daily_bars(generate_bars(config)), "1d")
    return root


def test_train_without_stored_bars_fails_in_one_line_before_ray(tmp_path: Path) -> None:
    import ray

    already = ray.is_initialized()  # the suite's shared Ray may be up: the command must start none
    result = CliRunner().invoke(app, ["train", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "holds no 1d bars" in result.output and "--synthetic" in result.output
    assert ray.is_initialized() == already


def test_store_defaults_are_the_stores_symbols_and_window(tmp_path: Path) -> None:
    symbols, first, last = store_defaults(_store(tmp_path / "data"), SWING)
    assert symbols == ["SYNA", "SYNB"] and (first, last) == (date(2022, 1, 3), date(2023, 12, 29))


def test_backtest_model_runs_the_registered_model(tmp_path: Path) -> None:
    data = _store(tmp_path / "data")
    bars = BarStore(data).read("1d", ["SYNA", "SYNB"])
    dataset = build_dataset(bars.filter(bars["ts"] < datetime(2023, 7, 1, tzinfo=UTC)), SWING)
    scorer = ScoreModel.train(dataset, feature_columns(SWING), "swing", ModelParams(min_data_in_leaf=20))
    first, last = dataset["ts"].min(), dataset["ts"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    source = BarSource("store", "1d", ("SYNA", "SYNB"), first, last, 0, str(data))
    registry = ModelRegistry(tmp_path / "models", SimClock(datetime(2024, 1, 2, tzinfo=UTC)))
    registry.register(
        SWING, scorer.to_bytes(), metrics={}, features=list(scorer.features), feature_hash=scorer.feature_hash,
        data_window=(source.first, source.last),
        params={"symbols": ["SYNA", "SYNB"], "source": source.lineage(), "strategy": {"score_threshold": 0.02}},
        code_version="test",
    )  # fmt: skip
    args = ["backtest", "--model", f"{SWING}@v0001", "--registry", str(tmp_path / "models")]
    args += ["--report-dir", str(tmp_path / "reports")]
    full = CliRunner().invoke(app, args)
    assert full.exit_code == 0, full.output
    assert "IN SAMPLE" in full.output and "deflated_sharpe" in full.output and "Sharpe" in full.output
    later = CliRunner().invoke(app, [*args, "--start", "2023-07-03", "--end", "2023-12-29"])
    assert later.exit_code == 0, later.output
    assert "out of sample" in later.output
    missing = CliRunner().invoke(app, ["backtest", "--model", SWING, "--registry", str(tmp_path / "models")])
    assert missing.exit_code == 1 and "no promoted model" in missing.output
