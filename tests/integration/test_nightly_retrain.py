"""The nightly retrain runs as Ray work: it registers a version and promotes only past the gates.

Tiny data: SYNA and SYNB, 1-minute bars of the 39 sessions 2025-01-02..2025-02-28 in a bar
store; 2 walk-forward folds (10 train, 4 test sessions), 2 Tune trials.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from adapters.store import BarStore
from cluster.tasks import DeskPaths, collect_retrain, nightly_retrain, retrain_ready
from configs import Settings
from configs.components import DataConfig
from core.calendar import MarketCalendar
from core.clock import SimClock
from training.gates import GateConfig
from training.pipeline import TrainingOptions
from training.registry import ModelRegistry
from training.tuner import TuneOptions

SYMBOLS = ("SYNA", "SYNB")
FIRST, LAST = date(2025, 1, 2), date(2025, 2, 28)
IMR = "intraday_mean_reversion"
LENIENT = GateConfig(
    min_sharpe=-100.0, max_drawdown_pct=100.0, min_trades=1, min_win_rate=0.0, min_deflated_sharpe=0.0
)
STRICT = replace(LENIENT, min_sharpe=1_000.0)


def test_retrain_is_ray_work_and_promotes_only_past_the_gates(ray_session: Any, tmp_path: Path) -> None:
    paths = DeskPaths.under(tmp_path)
    BarStore(paths.data_dir).write(
        generate_bars(SyntheticMarketConfig(seed=1, symbols=SYMBOLS, start=FIRST, end=LAST)), "1m"
    )
    settings = Settings(data=DataConfig(symbols=list(SYMBOLS)))
    clock = SimClock(datetime(2025, 3, 1, 7, 0, tzinfo=UTC))  # Saturday 02:00 ET
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", clock)
    options = TrainingOptions(
        folds=2, train_sessions=10, test_sessions=4, gates=LENIENT, seed=1, baseline=False,
        tune=TuneOptions(num_samples=2, halving=False, verbose=0),
    )  # fmt: skip

    def retrain(opts: TrainingOptions) -> str:
        handle = nightly_retrain(
            settings, paths, clock, MarketCalendar(), LAST, strategies=[IMR], window_sessions=39, options=opts
        )
        assert isinstance(handle.ref, ray_session.ObjectRef)  # submitted, not run here
        assert handle.detail == f"retrain submitted: {IMR} on 2 symbols, {FIRST}..{LAST}, 2 samples"
        assert handle.plan.start == FIRST
        detail = collect_retrain(handle, timeout=120, ledger=ledger)
        assert retrain_ready(handle)
        return detail

    passed = retrain(options)
    assert passed.startswith(f"{IMR}: v0001 promoted, OOS Sharpe ")
    assert passed.endswith("2 trials; served: no scoring app running")
    registry = ModelRegistry(paths.registry_root, clock)
    promoted = registry.promoted(IMR)
    assert promoted is not None and promoted.version == "v0001"
    assert promoted.created_at == clock.now()  # stamped with the desk's (simulated) time
    assert promoted.params["symbols"] == list(SYMBOLS)
    assert (paths.tune_dir / f"nightly_{IMR}_20250228").is_dir()

    failed = retrain(replace(options, gates=STRICT))
    assert failed.startswith(f"{IMR}: v0002 not promoted (failed sharpe")
    assert "served" not in failed
    assert [m.version for m in registry.list(IMR)] == ["v0001", "v0002"]
    latest = registry.promoted(IMR)
    assert latest is not None and latest.version == "v0001"
    events = ledger.events(kind="model.retrain")
    assert [e.payload["outcomes"][0]["promoted"] for e in events] == [True, False]
    ledger.close()


def test_drift_alerts_and_submits_a_retrain(ray_session: Any, tmp_path: Path) -> None:
    """A promoted model trained on Jan-Feb; March's bars swing three times as wide (a planted
    volatility regime): the drift check alerts once and the retrain runs as Ray work."""
    from adapters.notify import NotificationDispatcher
    from cluster.tasks.retrain import drift_check
    from tests.unit.test_desk_tasks import Recorder
    from training.dataset import build_dataset, feature_columns
    from training.model import ModelParams, ScoreModel

    paths = DeskPaths.under(tmp_path)
    store = BarStore(paths.data_dir)
    bars = generate_bars(SyntheticMarketConfig(seed=1, symbols=SYMBOLS, start=FIRST, end=date(2025, 3, 31)))
    march = pl.col("ts") >= datetime(2025, 3, 1, tzinfo=UTC)
    o = pl.col("open")
    wide = [
        pl.when(march).then(o + (pl.col(c) - o) * 3.0).otherwise(pl.col(c)).alias(c)
        for c in ("high", "low", "close")
    ]
    store.write(bars.with_columns(*wide), "1m")
    clock = SimClock(datetime(2025, 4, 1, 6, 0, tzinfo=UTC))
    registry = ModelRegistry(paths.registry_root, clock)
    dataset = build_dataset(bars.filter(~march), IMR)
    scorer = ScoreModel.train(dataset, feature_columns(IMR), "intraday", ModelParams(n_estimators=20))
    source = {"kind": "store", "timeframe": "1m", "root": str(paths.data_dir)}
    version = registry.register(
        IMR, scorer.to_bytes(), metrics={}, features=list(scorer.features), feature_hash=scorer.feature_hash,
        data_window=(dataset["ts"].min(), dataset["ts"].max()),  # type: ignore[arg-type]
        params={"symbols": list(SYMBOLS), "source": source}, code_version="test",
    )  # fmt: skip
    registry.promote(IMR, version.version)
    recorder = Recorder()
    notifier = NotificationDispatcher([recorder], {}, clock)
    settings = Settings(data=DataConfig(symbols=list(SYMBOLS)))
    options = TrainingOptions(
        folds=2, train_sessions=10, test_sessions=4, gates=LENIENT, seed=1, baseline=False,
        tune=TuneOptions(num_samples=2, halving=False, verbose=0),
    )  # fmt: skip
    detail, handle = drift_check(
        settings,
        paths,
        clock,
        MarketCalendar(),
        date(2025, 3, 31),
        notifier,
        strategies=[IMR],
        live_sessions=10,
        options=options,
    )
    assert "DRIFT" in detail and "atr" in detail, detail
    assert handle is not None and [n.kind for n in recorder.sent] == ["alert"]
    assert recorder.sent[0].title.startswith(f"Model drift: {IMR}")
    assert handle.plan.strategies == (IMR,)
    outcome = collect_retrain(handle, timeout=300, refresh=False)
    assert outcome.startswith(f"{IMR}: v0002"), outcome
