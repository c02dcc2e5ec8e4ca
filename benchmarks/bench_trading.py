"""Benchmark: one account's bar cycle (``AccountService.on_bars``) over a synthetic session.

Run: ``python benchmarks/bench_trading.py [--no-write]``. Wiring as in production and in
``tests/unit/test_trading_support.py``: a real ``SimExchange``, a ``SqliteLedger`` (WAL,
``synchronous=FULL``, in a temporary directory) and an embedded
Redis quote cache; strategy ``SmaCross(10, 30)`` on 20 symbols over one XNYS session. Each
minute plays like the market-data and account actors: venue bar, cached quotes, ``on_bars``,
``tick``. Recorded: the service's own recorders (bar event → order submitted, whole cycle),
without a scorer and with an in-process LightGBM scorer (which adds the feature path), and
each session's wall time. Rewrites only the "## Trading: bar-event to order-submitted
latency" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightgbm as lgb
import numpy as np
import polars as pl

from adapters.brokers.sim import SimExchange, SimExchangeConfig, SimExecutionClient, ZeroCommission
from adapters.cache import (
    EmbeddedRedis,
    RedisCommandInbox,
    RedisEventLog,
    RedisQuoteCache,
    RedisStateBoard,
    client_from_url,
)
from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SyntheticMarketConfig, generate_bars
from benchmarks.results import write_section as write_results
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler, RetryPolicy
from core.features import feature_names
from core.model import AccountId, InstrumentId, Money, Price, Quote
from core.ports.scorer import Scorer, Scores
from core.risk import RiskEngine, RiskLimits
from core.strategies import SmaCross
from core.trading import AccountRuntimeConfig, AccountService

RESULTS = Path(__file__).with_name("RESULTS.md")
TITLE = "## Trading: bar-event to order-submitted latency"
TARGET_P99_MS = 20.0
ACCOUNT = AccountId("bench")
SESSION = date(2025, 11, 3)
SYMBOLS = 20
FEATURES = feature_names("intraday")
LIMITS = RiskLimits(
    max_risk_per_trade=Money(1_000),
    max_open_positions=20,
    max_exposure_per_symbol=Money(50_000),
    daily_loss_limit=Money(50_000),
)
CONFIG = AccountRuntimeConfig(max_positions=20, bankroll=Decimal("1000000"), min_score=-1e9)


class LightGbmScorer:
    """A ``Scorer`` in process: a small booster (50 trees) predicting on the feature rows."""

    def __init__(self, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(5_000, len(FEATURES)))
        y = x[:, 0] * -0.3 + rng.normal(scale=0.5, size=len(x))
        params = {"objective": "regression", "num_leaves": 15, "verbosity": -1, "num_threads": 1}
        self.booster = lgb.train(params, lgb.Dataset(x, y, feature_name=list(FEATURES)), num_boost_round=50)

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        x = np.array([[row[f] for f in FEATURES] for row in rows], dtype=np.float64)
        scores = self.booster.predict(x, num_threads=1)
        return Scores(strategy, "bench-lgbm-1", tuple(float(s) for s in scores), FEATURES)


@dataclass
class Run:
    mode: str
    cycles: int
    orders: int
    submit_p50: float
    submit_p99: float
    submit_max: float
    cycle_p50: float
    cycle_p99: float
    wall_s: float
    load_before: float
    load_after: float


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(np.ceil(q / 100 * len(ordered))) - 1)] if ordered else float("nan")


def session(root: Path, redis_url: str, scorer: Scorer | None, mode: str, seed: int) -> Run:
    """One account, one session; returns the latency figures of its recorders."""
    calendar = MarketCalendar()
    symbols = tuple(f"SY{i:02d}" for i in range(SYMBOLS))
    bars = generate_bars(SyntheticMarketConfig(seed=seed, symbols=symbols, start=SESSION, end=SESSION))
    frames = [g for _, g in sorted(bars.partition_by("ts", as_dict=True).items(), key=lambda kv: kv[0])]
    clock = SimClock(calendar.session_open_close(SESSION)[0] - timedelta(minutes=5))
    exchange = SimExchange(
        SimExchangeConfig(fsync=False, commission=ZeroCommission()),
        clock,
        is_open=calendar.is_open,
        session_close=calendar.next_close,
    )
    exchange.open_account(ACCOUNT, Money(1_000_000))
    client = SimExecutionClient(exchange, ACCOUNT)
    ledger = SqliteLedger(root / f"{mode}.db", clock=clock)
    redis = client_from_url(redis_url)
    quotes = RedisQuoteCache(redis, clock, prefix=mode)
    execution = ExecutionService(
        ACCOUNT, client, ledger, RiskEngine(LIMITS), clock, CONFIG.entry_offset_cents, RetryPolicy(2, 0.0)
    )
    service = AccountService(
        ACCOUNT,
        [SmaCross()],
        execution,
        Reconciler(ACCOUNT, client, ledger, clock),
        ledger,
        client,
        LIMITS,
        quotes,
        RedisEventLog(redis, prefix=mode),
        RedisStateBoard(redis, prefix=mode),
        RedisCommandInbox(redis, prefix=mode),
        scorer,
        clock,
        calendar,
        CONFIG,
    )
    service.start()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    submit: list[float] = []
    cycle: list[float] = []
    for frame in frames:
        ts = frame["ts"][0]
        clock.set(ts + timedelta(minutes=1))
        cached = []
        for row in frame.iter_rows(named=True):
            exchange.on_bar(row["symbol"], row)
            cached.append(
                Quote(InstrumentId(row["symbol"]), Price(row["bid"]), Price(row["ask"]), clock.now())
            )
        quotes.put_many(cached)
        report = service.on_bars(frame)
        submit += report.latency_ms
        cycle.append(report.cycle_ms)
        service.tick()
    wall = time.perf_counter() - t0
    ledger.close()
    redis.close()
    return Run(
        mode,
        len(cycle),
        len(submit),
        _pct(submit, 50),
        _pct(submit, 99),
        max(submit, default=float("nan")),
        _pct(cycle, 50),
        _pct(cycle, 99),
        wall,
        load_before,
        os.getloadavg()[0],
    )


def run(seed: int = 7) -> list[Run]:
    scorer = LightGbmScorer()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "bench.rdb").start()
        try:
            session(Path(tmp), server.url, None, "warmup", seed)  # imports, calendar, polars caches
            for mode, s in (("rules", None), ("lightgbm scorer", scorer)):
                runs.append(session(Path(tmp), server.url, s, mode.split()[0], seed))
                runs[-1].mode = mode
        finally:
            server.stop()
    return runs


def render(runs: list[Run], note: str) -> str:
    lines = [
        TITLE,
        "",
        f"`python benchmarks/bench_trading.py` on {os.cpu_count()} CPUs (nproc), Python "
        f"{platform.python_version()}, polars {pl.__version__}, LightGBM {lgb.__version__}. One account, "
        f"`SmaCross(10, 30)` on {SYMBOLS} synthetic symbols (seed 7) over the XNYS session of "
        f"{SESSION:%Y-%m-%d} (390 bar events), real `SimExchange`, `SqliteLedger` (WAL, "
        "`synchronous=FULL`), embedded Redis quote cache; each minute: venue bar, quotes, "
        "`on_bars`, `tick`. Figures from the service's recorders (nearest rank); a warm-up "
        "session runs first. The scorer is an in-process LightGBM booster (50 trees) on the 8 "
        "intraday features (`min_score` low, so both modes send the same orders).",
        "",
        "| mode | bar → submit p50 ms | p99 ms | max ms | orders | cycle p50 ms | cycle p99 ms "
        "| session wall s | load avg (1 min) before / after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r.mode} | {r.submit_p50:.2f} | {r.submit_p99:.2f} | {r.submit_max:.2f} | {r.orders} "
            f"| {r.cycle_p50:.2f} | {r.cycle_p99:.2f} | {r.wall_s:.2f} "
            f"| {r.load_before:.2f} / {r.load_after:.2f} |"
        )
    worst = max(r.submit_p99 for r in runs)
    verdict = "met" if worst < TARGET_P99_MS else "NOT met"
    lines += [
        "",
        f"Target: bar → submit p99 under {TARGET_P99_MS:g} ms: {verdict} (worst p99 {worst:.2f} ms).",
    ]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--note", default="", help="a paragraph appended to the section")
    args = parser.parse_args()
    section = render(run(), args.note)
    print(section)
    if not args.no_write:
        write_results(TITLE, section)


if __name__ == "__main__":
    main()
