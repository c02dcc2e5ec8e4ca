"""The desk tasks on real files: a SqliteLedger, a BarStore and a registry in tmp_path, no Ray.

The market is the synthetic one: SYNA and SYNB, 1-minute and daily bars from 2025-01-02 to
2025-02-14 (a Friday; Monday 2025-02-17 is Presidents' Day, so the session before Tuesday
2025-02-18 is that Friday).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from adapters.ledger import SqliteLedger
from adapters.ledger.task_runs import SqliteRunStore
from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.notify import NotificationDispatcher
from adapters.store import BarStore
from cluster.tasks import (
    DeskPaths,
    UniverseRules,
    complete_labels,
    daily_report,
    health_check,
    model_check,
    premarket_features,
    read_universe,
    universe_refresh,
    weekly_refresh,
)
from cluster.tasks.common import read_partitions
from configs import Settings
from configs.components import DataConfig
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.errors import DataError
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Money,
    Order,
    OrderSide,
    OrderType,
    Price,
    Quantity,
    StrategyId,
)
from core.ports.ledger import Denial
from core.ports.notify import DeliveryResult, Notification
from core.scheduling import RunStatus, TaskRun
from training.dataset import build_dataset, feature_columns
from training.model import ModelParams, ScoreModel
from training.registry import ModelRegistry, ModelVersion

SYMBOLS = ("SYNA", "SYNB")
FIRST, LAST = date(2025, 1, 2), date(2025, 2, 14)
NEXT = date(2025, 2, 18)  # after the Presidents' Day holiday
AFTER_CLOSE = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # 18:00 ET
IMR = "intraday_mean_reversion"
CAL = MarketCalendar()


class Recorder:
    """A notifier that keeps what it was sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> DeliveryResult:
        self.sent.append(notification)
        return DeliveryResult(ok=True, channel=self.name, status="sent", attempts=1)


@pytest.fixture(scope="module")
def minute_bars() -> pl.DataFrame:
    return generate_bars(SyntheticMarketConfig(seed=3, symbols=SYMBOLS, start=FIRST, end=LAST))


@pytest.fixture
def store(tmp_path: Path, minute_bars: pl.DataFrame) -> BarStore:
    bars = BarStore(tmp_path / "data")
    bars.write(minute_bars, "1m")
    bars.write(daily_bars(minute_bars), "1d")
    return bars


@pytest.fixture
def settings() -> Settings:
    return Settings(data=DataConfig(symbols=[*SYMBOLS, "SYNC"]))


@pytest.fixture
def paths(tmp_path: Path) -> DeskPaths:
    return DeskPaths.under(tmp_path, tmp_path / "data")


@pytest.fixture
def clock() -> SimClock:
    return SimClock(AFTER_CLOSE)


@pytest.fixture
def ledger(tmp_path: Path, clock: SimClock) -> Iterator[SqliteLedger]:
    led = SqliteLedger(tmp_path / "ledger.sqlite3", clock)
    yield led
    led.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def notifier(recorder: Recorder, clock: SimClock) -> NotificationDispatcher:
    prefs = {"intraday": "immediate", "swing": "daily", "options": "never"}
    return NotificationDispatcher([recorder], prefs, clock)  # type: ignore[arg-type]


def _register(registry: ModelRegistry, minute_bars: pl.DataFrame) -> ModelVersion:
    dataset = build_dataset(minute_bars.filter(pl.col("symbol") == "SYNA"), IMR)
    params = ModelParams(num_leaves=7, min_data_in_leaf=50, n_estimators=10)
    model = ScoreModel.train(dataset, feature_columns(IMR), "intraday", params)
    ts = dataset["ts"]
    return registry.register(
        IMR,
        model.to_bytes(),
        metrics={},
        features=list(model.features),
        feature_hash=model.feature_hash,
        data_window=(ts.min(), ts.max()),  # type: ignore[arg-type]
        params={"symbols": ["SYNA"], "strategy": {"score_threshold": 0.03}},
        code_version="test",
        gate_report={"passed": True},
    )


# -- pre-market ----------------------------------------------------------------------------
def test_premarket_features_store_the_previous_session_and_name_the_missing(
    settings: Settings, paths: DeskPaths, clock: SimClock, store: BarStore
) -> None:
    detail = premarket_features(settings, paths, clock, store, CAL, session=NEXT)
    assert detail.startswith("features 2025-02-14: 1m 2/3 symbols, 780 rows; 1d 2/3 symbols, 2 rows")
    assert "missing 1m: SYNC; 1d: SYNC" in detail
    minute = read_partitions(paths.data_dir, "features", "1m")
    assert minute.height == 780 and set(minute["session"].unique()) == {LAST}
    assert {"zscore", "atr", "rsi"} <= set(minute.columns)
    daily = read_partitions(paths.data_dir, "features", "1d")
    assert daily.height == 2 and "ema_20" in daily.columns  # null: 30 sessions are short of the warm-up
    assert premarket_features(settings, paths, clock, store, CAL, session=NEXT) == detail
    assert read_partitions(paths.data_dir, "features", "1m").height == 780  # idempotent


def test_premarket_features_fail_without_bars(settings: Settings, paths: DeskPaths, clock: SimClock) -> None:
    with pytest.raises(DataError, match="no bars for 2025-02-14"):
        premarket_features(settings, paths, clock, BarStore(paths.data_dir), CAL, session=NEXT)


def test_universe_applies_the_liquidity_filters(
    settings: Settings, paths: DeskPaths, clock: SimClock, store: BarStore
) -> None:
    daily = store.read("1d", ["SYNA"])
    cheap = daily.with_columns(
        pl.lit("PENNY").alias("symbol"),
        *(pl.col(c) / 40 for c in ("open", "high", "low", "close", "bid", "ask")),
    )
    thin = daily.with_columns(pl.lit("THIN").alias("symbol"), pl.col("volume") / 10_000)
    store.write(pl.concat([cheap, thin]), "1d")
    detail = universe_refresh(settings, paths, clock, store, CAL, session=NEXT)
    assert detail.startswith("universe after 2025-02-14: 2 of 5 symbols")
    saved = json.loads((paths.state_dir / "universe.json").read_text())
    assert saved["symbols"] == ["SYNA", "SYNB"] == read_universe(paths)
    assert saved["excluded"]["SYNC"] == "no bars"
    assert saved["excluded"]["PENNY"].startswith("price ")
    assert saved["excluded"]["THIN"].startswith("median dollar volume")
    assert saved["stats"]["SYNA"]["sessions"] == 20 and saved["for_session"] == "2025-02-18"
    strict = UniverseRules(min_sessions=25)
    assert "0 of 5" in universe_refresh(settings, paths, clock, store, CAL, session=NEXT, rules=strict)


def test_model_check_warns_on_missing_stale_and_broken_models(
    paths: DeskPaths,
    clock: SimClock,
    notifier: NotificationDispatcher,
    recorder: Recorder,
    minute_bars: pl.DataFrame,
) -> None:
    registry = ModelRegistry(paths.registry_root, clock)
    model = _register(registry, minute_bars)
    registry.promote(IMR, model.version)
    clock.advance(timedelta(days=2))
    assert model_check(registry, notifier, clock, [IMR]) == f"{IMR} v0001 ok, 2.0 days old"
    assert recorder.sent == []
    detail = model_check(registry, notifier, clock, [IMR, "swing_trend_following"])
    assert "swing_trend_following: no promoted model" in detail
    assert recorder.sent[-1].kind == "alert" and "swing_trend_following" in recorder.sent[-1].body
    clock.advance(timedelta(days=8))
    model_check(registry, notifier, clock, [IMR])
    assert "10.0 days old (> 7)" in recorder.sent[-1].body
    model.artifact_path.write_bytes(b"tampered")
    assert "artifact not loadable" in model_check(registry, notifier, clock, [IMR])
    assert "does not match its checksum" in recorder.sent[-1].body


# -- after the close -----------------------------------------------------------------------
def test_labels_are_completed_once_and_idempotently(
    settings: Settings, paths: DeskPaths, store: BarStore
) -> None:
    detail = complete_labels(settings, paths, store, CAL, LAST)
    assert detail == (
        "labels 2025-02-14: 1m 780 rows (770 with forward return, 750 with barrier label); "
        "1d 12 rows (2 with forward return, 0 with barrier label)"  # the daily ATR needs 56 sessions
    )
    minute = read_partitions(paths.data_dir, "labels", "1m").sort("symbol", "ts")
    assert minute.height == 780
    assert set(minute["label"].drop_nulls().unique()) <= {-1, 0, 1}
    syna = minute.filter(pl.col("symbol") == "SYNA")
    assert syna["fwd_return"].tail(5).null_count() == 5 and syna["fwd_return"].head(385).null_count() == 0
    daily = read_partitions(paths.data_dir, "labels", "1d")
    assert daily.filter(pl.col("session") == LAST)["label"].null_count() == 2  # outcome not known yet
    complete_labels(settings, paths, store, CAL, LAST)
    assert read_partitions(paths.data_dir, "labels", "1m").sort("symbol", "ts").equals(minute)


def _fill(n: int, account: str, side: OrderSide, qty: int, price: str, ts: datetime) -> Fill:
    return Fill(
        FillId(f"F{n}"),
        ClientOrderId(f"c{n}"),
        AccountId(account),
        Equity("SYNA"),
        side,
        Quantity(qty),
        Price(price),
        ts,
        Money("1"),
    )


def test_health_check_flags_positions_orphans_labels_and_runs(
    tmp_path: Path,
    settings: Settings,
    paths: DeskPaths,
    clock: SimClock,
    ledger: SqliteLedger,
    store: BarStore,
    notifier: NotificationDispatcher,
    recorder: Recorder,
) -> None:
    during = datetime(2025, 2, 14, 15, 0, tzinfo=UTC)
    ledger.record_fill(_fill(1, "intraday", OrderSide.BUY, 10, "40", during))
    ledger.record_fill(_fill(2, "swing", OrderSide.BUY, 10, "40", during))  # swing may hold overnight
    earlier = datetime(2025, 2, 13, 15, 0, tzinfo=UTC)
    cid = ClientOrderId.derive(AccountId("swing"), "swing_trend_following", date(2025, 2, 13), "x")
    order = Order.single(cid, AccountId("swing"), Equity("SYNB"), OrderSide.BUY, 5, earlier, OrderType.MARKET)
    ledger.reserve(order, date(2025, 2, 13))
    runs = SqliteRunStore(tmp_path / "runs.sqlite3")
    due = datetime(2025, 2, 14, 20, 50, tzinfo=UTC)
    runs.record(TaskRun("flatten.2", due, AFTER_CLOSE, AFTER_CLOSE, RunStatus.MISSED, "expired", LAST))
    detail = health_check(settings, paths, clock, ledger, store, notifier, LAST, run_store=runs)
    assert detail == (
        "health 2025-02-14: intraday: 1 open positions; swing: 1 orphan orders; "
        "desk: 4 missing labels, 1 failed or missed runs"
    )
    alerts = ledger.events(kind="alert")
    assert [e.account_id and str(e.account_id) for e in alerts] == ["intraday", "swing", None]
    assert alerts[0].payload["open_positions"] == ["SYNA 10"]
    assert alerts[2].payload["missing_labels"] == {"1d": ["SYNA", "SYNB"], "1m": ["SYNA", "SYNB"]}
    # The swing account is on a daily digest: its alert is queued, the others go out at once.
    assert [n.account_id for n in recorder.sent] == ["intraday", None]


def test_health_check_is_quiet_when_all_is_well(
    settings: Settings,
    paths: DeskPaths,
    clock: SimClock,
    ledger: SqliteLedger,
    store: BarStore,
    notifier: NotificationDispatcher,
    recorder: Recorder,
) -> None:
    during = datetime(2025, 2, 14, 15, 0, tzinfo=UTC)
    ledger.record_fill(_fill(1, "intraday", OrderSide.BUY, 10, "40", during))
    ledger.record_fill(_fill(2, "intraday", OrderSide.SELL, 10, "41", during + timedelta(minutes=5)))
    complete_labels(settings, paths, store, CAL, LAST)
    assert (
        health_check(settings, paths, clock, ledger, store, notifier, LAST)
        == "health 2025-02-14: nothing flagged"
    )
    assert ledger.events(kind="alert") == [] and recorder.sent == []


def test_daily_report_counts_the_sessions_round_trips(
    settings: Settings,
    paths: DeskPaths,
    clock: SimClock,
    ledger: SqliteLedger,
    notifier: NotificationDispatcher,
    recorder: Recorder,
) -> None:
    day = datetime(2025, 2, 14, 15, 0, tzinfo=UTC)
    before = datetime(2025, 2, 13, 15, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    fills = [
        (OrderSide.BUY, 10, "50", before),  # yesterday's trade: not today's
        (OrderSide.SELL, 10, "60", before + minute),
        (OrderSide.BUY, 10, "100", day),  # +10 - 2 commission = 8
        (OrderSide.SELL, 10, "101", day + minute),
        (OrderSide.BUY, 10, "100", day + 2 * minute),  # -10 - 2 = -12
        (OrderSide.SELL, 10, "99", day + 3 * minute),
        (OrderSide.BUY, 5, "100", day + 4 * minute),  # still open: only its commission counts
    ]
    for n, (side, qty, price, ts) in enumerate(fills):
        ledger.record_fill(_fill(n, "intraday", side, qty, price, ts))
    denial = Denial(
        AccountId("intraday"), ClientOrderId("d1"), StrategyId(IMR), "max_open_positions", "5 open", day
    )
    ledger.record_denial(denial)
    notifier.notify(Notification(kind="fill", title="earlier fill", body="", ts=day, account_id="swing"))
    assert recorder.sent == []  # queued for swing's daily digest
    detail = daily_report(settings, paths, clock, ledger, notifier, LAST)
    assert detail == "report 2025-02-14: desk P&L -5, 2 trades, win rate 50.0 %"
    report = json.loads((paths.reports_dir / "daily" / "2025-02-14.json").read_text())
    intraday = report["accounts"][0]
    assert intraday["realized_pnl"] == "-5" and intraday["fills"] == 5
    assert intraday["trade_pnls"] == ["8", "-12"] and intraday["win_rate"] == 0.5
    assert intraday["open_positions"] == [{"instrument": "SYNA", "net": "5", "avg_price": "100"}]
    assert intraday["denials"] == {"max_open_positions": 1}
    assert "<td>intraday</td>" in (paths.reports_dir / "daily" / "2025-02-14.html").read_text()
    assert ledger.events(kind="report.daily")[0].payload["desk"]["trades"] == 2
    kinds = [(n.kind, n.account_id) for n in recorder.sent]
    # options is on "never"; swing's report goes out at once, then its digest is flushed.
    assert kinds == [("daily_report", "intraday"), ("daily_report", "swing"), ("digest", None)]


# -- weekly --------------------------------------------------------------------------------
def test_weekly_refresh_prunes_and_backtests_the_promoted_model(
    settings: Settings, paths: DeskPaths, clock: SimClock, store: BarStore, minute_bars: pl.DataFrame
) -> None:
    registry = ModelRegistry(paths.registry_root, clock)
    versions = [_register(registry, minute_bars) for _ in range(6)]
    registry.promote(IMR, versions[0].version)
    registry.promote(IMR, versions[2].version)
    for day in range(1, 6):
        (paths.tune_dir / f"nightly_{IMR}_2025020{day}").mkdir(parents=True)
    (paths.tune_dir / "manual_run").mkdir()
    detail = weekly_refresh(settings, paths, clock, registry, keep_runs=2, keep_versions=2)
    assert detail.startswith("pruned 3 tune runs, 2 model versions; ")
    assert f"{IMR} v0003: in-sample Sharpe" in detail and "swing_trend_following: nothing promoted" in detail
    assert [m.version for m in registry.list(IMR)] == ["v0001", "v0003", "v0005", "v0006"]
    assert sorted(p.name for p in paths.tune_dir.iterdir()) == [
        "manual_run",
        f"nightly_{IMR}_20250204",
        f"nightly_{IMR}_20250205",
    ]
    out = paths.reports_dir / "weekly" / "2025-02-14" / f"{IMR}_v0003"
    assert (out / "report.html").exists() and json.loads((out / "metrics.json").read_text())[
        "version"
    ] == "v0003"
    assert registry.promoted(IMR) is not None
