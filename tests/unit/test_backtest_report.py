"""The report files and the strategy interface used by backtest and live alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from core.strategies import SIGNAL_COLUMNS, SmaCross, Strategy, latest_intents
from training.backtest import BacktestConfig, run_backtest
from training.backtest.report import metrics_rows, write_report


def walk(n: int = 400, symbols: tuple[str, ...] = ("AAA", "BBB"), seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for s in symbols:
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
        opens = np.concatenate(([50.0], close[:-1]))
        frames.append(
            pl.DataFrame(
                {
                    "symbol": [s] * n,
                    "ts": [datetime(2023, 1, 2, 21, tzinfo=UTC) + timedelta(days=i) for i in range(n)],
                    "open": opens,
                    "high": np.maximum(opens, close) * 1.005,
                    "low": np.minimum(opens, close) * 0.995,
                    "close": close,
                    "volume": np.full(n, 1e5),
                }
            )
        )
    return pl.concat(frames)


def test_report_writes_png_html_and_csv_reproducibly(tmp_path: Path) -> None:
    result = run_backtest(SmaCross(), walk(), BacktestConfig(close_at_end=True))
    paths = write_report(result, tmp_path / "r1")
    again = write_report(result, tmp_path / "r2")
    assert paths.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths.png.read_bytes() == again.png.read_bytes()
    page = paths.html.read_text()
    assert "data:image/png;base64," in page
    for label, value in metrics_rows(result):
        assert f"<th>{label}</th><td>{value}</td>" in page
    assert pl.read_csv(paths.trades_csv).height == result.trades.height


def test_sma_cross_is_a_strategy_and_suggest_reads_the_last_bar() -> None:
    strategy = SmaCross(fast=3, slow=8)
    assert isinstance(strategy, Strategy)
    frame = walk(200)
    signals = strategy.signals(frame)
    assert set(SIGNAL_COLUMNS) <= set(signals.columns)
    assert signals.height == frame.height
    # Cut each symbol's window right after its last entry: suggest must report that entry.
    aaa = signals.filter(pl.col("symbol") == "AAA")
    last_entry = aaa.with_row_index().filter(pl.col("entry_long"))["index"][-1]
    window = frame.filter(pl.col("symbol") == "AAA").head(last_entry + 1)
    intents = strategy.suggest(window)
    assert [(i.symbol, i.action, i.side) for i in intents] == [("AAA", "entry", "long")]
    assert intents == latest_intents(strategy.signals(window))
    assert intents[0].ts == window["ts"][-1]
