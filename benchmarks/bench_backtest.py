"""Backtest speed: raydesk vs vectorbt and backtesting.py on identical whole-share trades.

Workload: a seeded random walk of 1-minute bars, long-only SMA(10/30) crossover, all-in in
whole shares, market orders filled at the next bar's open, no costs; 100k, 1M and 10M bars.
Every engine runs in this one process on the same data, warm (after a first call), best of
``--repeat``. Before any ratio is reported every fill is compared row by row (time, price,
size): raydesk's trades against vectorbt's order records and backtesting.py's trades
(backtesting.py up to ``--bt-max`` bars: it needs minutes beyond). Cold: a fresh process per
engine (interpreter start, imports, first call; vectorbt with an empty numba cache, so its
compilation counts) on the 1M-bar data read from a parquet file (the read is not counted).

Timed work (warm): the engines on the same signals, raydesk's ``SmaCross(10, 30).signals``
computed once (vectorbt's own ``MA.run`` crossovers drift from it: its rolling sums run over
the whole series, and at 10M bars one crossing lands a bar apart). raydesk: ``simulate`` (fills,
trades frame, equity curve). vectorbt: ``Portfolio.from_signals`` (``size=inf,
size_granularity=1``: whole shares), its order records and ``value()``. backtesting.py:
``Backtest.run`` (its own SMAs and stats). Cold runs each engine's whole pipeline (raydesk's
signals, vectorbt's ``MA.run``).

    .venv/bin/python benchmarks/bench_backtest.py [--bars 100000,1000000,10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import polars as pl

SECTION = "## Backtest: bars/s vs backtesting.py and vectorbt"
CASH = 1_000_000.0
COLD_BARS = 1_000_000


def random_walk(n: int, seed: int = 42) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.0002, n))
    spread = np.abs(rng.normal(0.0, 0.0005, n))
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + spread),
            "Low": np.minimum(open_, close) * (1 - spread),
            "Close": close,
            "Volume": 1e5,
        },
        index=pd.date_range("2020-01-01", periods=n, freq="min", tz=None),
    )


def to_polars(df: pd.DataFrame) -> pl.DataFrame:
    import polars as pl

    return (
        pl.from_pandas(df.reset_index(names="ts"))
        .rename(str.lower)
        .with_columns(
            pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), pl.lit("SYN").alias("symbol")
        )
    )


# Fills as columns (ts in us, price, size, side 0 buy / 1 sell), in time order.
Fills = tuple["np.ndarray", "np.ndarray", "np.ndarray", "np.ndarray"]


def sma_signals(bars: pl.DataFrame) -> pl.DataFrame:
    from core.strategies import SmaCross

    return SmaCross(10, 30).signals(bars)


def run_raydesk(signals: pl.DataFrame) -> Any:
    from training.backtest import BacktestConfig, simulate

    return simulate(signals, BacktestConfig(bankroll=CASH, max_positions=1, sizing="all_in"))


def raydesk_fills(result: Any) -> Fills:
    import numpy as np
    import polars as pl

    both = pl.concat([result.trades, result.open_trades])
    closed = result.trades.height

    def us(col: str, frame: pl.DataFrame) -> np.ndarray:
        return frame[col].dt.epoch("us").to_numpy()

    ts = np.concatenate((us("entry_ts", both), us("exit_ts", result.trades)))
    price = np.concatenate((both["entry_price"].to_numpy(), result.trades["exit_price"].to_numpy()))
    size = np.concatenate((both["size"].to_numpy(), result.trades["size"].to_numpy())).astype(np.float64)
    side = np.concatenate((np.zeros(both.height), np.ones(closed))).astype(np.int64)
    order = np.lexsort((-side, ts))  # at one bar an exit fills before an entry
    return ts[order], price[order], size[order], side[order]


def vectorbt_signals(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """vectorbt's own SMA(10/30) crossovers, shifted to act at the next bar's open."""
    import numpy as np
    import vectorbt as vbt

    close = df["Close"]
    fast, slow = vbt.MA.run(close, 10).ma.to_numpy(), vbt.MA.run(close, 30).ma.to_numpy()
    diff = fast - slow
    prev = np.concatenate(([np.nan], diff[:-1]))
    with np.errstate(invalid="ignore"):
        cross_up, cross_down = (prev < 0) & (diff > 0), (prev > 0) & (diff < 0)
    return np.concatenate(([False], cross_up[:-1])), np.concatenate(([False], cross_down[:-1]))


def shared_signals(signals: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """raydesk's signals as vectorbt's entries and exits (acting at the next bar's open)."""
    import numpy as np

    entry, exit_ = signals["entry_long"].to_numpy(), signals["exit_long"].to_numpy()
    return np.concatenate(([False], entry[:-1])), np.concatenate(([False], exit_[:-1]))


def run_vectorbt(df: pd.DataFrame, entries: np.ndarray, exits: np.ndarray) -> tuple[Any, float]:
    import numpy as np
    import vectorbt as vbt

    pf = vbt.Portfolio.from_signals(
        df["Close"],
        entries,
        exits,
        price=df["Open"],
        init_cash=CASH,
        size=np.inf,
        size_granularity=1,
        direction="longonly",
        freq="1min",
    )
    return pf.orders.values, float(pf.value().to_numpy()[-1])


def vectorbt_fills(records: Any, index: pd.DatetimeIndex) -> Fills:
    import numpy as np

    ts = index.to_numpy().astype("datetime64[us]").astype(np.int64)[records["idx"]]
    return ts, records["price"], records["size"], records["side"].astype(np.int64)


def run_backtesting_py(df: pd.DataFrame) -> Any:
    from backtesting import Backtest

    from tests.unit.test_backtest_parity import LongOnlySmaCross

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(df, LongOnlySmaCross, cash=CASH).run()


def same_fills(ours: Fills, theirs: Fills, who: str) -> int:
    """Every fill equal (time, price, size, side); the number of fills compared."""
    import numpy as np

    names = ("time", "price", "size", "side")
    assert ours[0].size == theirs[0].size, f"{who}: {ours[0].size} fills vs {theirs[0].size}"
    for name, a, b in zip(names, ours, theirs, strict=True):
        if not np.array_equal(a, b):
            bad = int(np.flatnonzero(a != b)[0])
            raise AssertionError(f"{who}: fill {bad} differs in {name}: {a[bad]} vs {b[bad]}")
    return int(ours[0].size)


def same_trades_as_backtesting_py(result: Any, stats: Any) -> int:
    import numpy as np

    ref = stats["_trades"]
    t = result.trades
    assert t.height == len(ref), f"backtesting.py: {t.height} trades vs {len(ref)}"
    for ours, theirs in (("entry_ts", "EntryTime"), ("exit_ts", "ExitTime")):
        a = t[ours].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")
        assert np.array_equal(a, ref[theirs].to_numpy().astype("datetime64[us]")), ours
    for ours, theirs in (("entry_price", "EntryPrice"), ("exit_price", "ExitPrice"), ("size", "Size")):
        assert np.array_equal(t[ours].to_numpy(), ref[theirs].to_numpy()), ours
    return int(t.height)


def child(engine: str, data: str) -> None:
    """A fresh process's import and first call, as JSON on stdout."""
    t0 = time.perf_counter()
    if engine == "raydesk":
        import polars as pl

        from core.strategies import SmaCross  # noqa: F401
        from training.backtest import simulate  # noqa: F401

        imported = time.perf_counter()
        frame: Any = pl.read_parquet(data)
        loaded = time.perf_counter()
        trades = run_raydesk(sma_signals(frame)).trades.height
    else:
        import pandas as pd
        import vectorbt  # noqa: F401

        imported = time.perf_counter()
        frame = pd.read_parquet(data)
        loaded = time.perf_counter()
        trades = int((run_vectorbt(frame, *vectorbt_signals(frame))[0]["side"] == 1).sum())
    done = time.perf_counter()
    print(json.dumps({"import": imported - t0, "first_call": done - loaded, "trades": trades}))


def cold(engine: str, data: Path) -> dict[str, float]:
    from benchmarks.machine import loadavg

    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache  # vectorbt compiles from scratch
        before = loadavg()[0]
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--data", str(data)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures | {"wall": wall, "load_before": before, "load_after": loadavg()[0]}


def verdicts(
    warm: dict[int, tuple[float, float]],
    cold_rows: dict[str, dict[str, float]],
    per_bar: list[tuple[int, float, float]],
) -> list[str]:
    """The targets, judged only on figures taken at a load within the core count."""
    from benchmarks.machine import CORES

    out = []
    ours, theirs = warm.get(COLD_BARS, (float("nan"), float("nan")))
    if ours == ours:  # not NaN: measured quietly
        met = "met" if ours <= theirs else "NOT met"
        out.append(
            f"- At least vectorbt's warm speed on {COLD_BARS:,} bars: {met} ({theirs / ours:.2f}× vectorbt's speed)."
        )
    else:
        out.append(f"- vectorbt's warm speed on {COLD_BARS:,} bars: not judged (load above {CORES}).")
    c = cold_rows["raydesk"]
    fresh = c["import"] + c["first_call"]
    quiet = max(c["load_before"], c["load_after"]) <= CORES
    met = ("met" if fresh < 2.0 else "NOT met") if quiet else f"not judged (load above {CORES})"
    out.append(
        f"- A fresh process, imports + first call, under 2 s: {met} ({fresh:.2f} s; whole process {c['wall']:.2f} s)."
    )
    if len(per_bar) > 1:
        lo, hi = min(p[1] for p in per_bar), max(p[1] for p in per_bar)
        out.append(
            f"- Cost linear in bars: per-bar cost from {lo:.3f} to {hi:.3f} µs across "
            f"{', '.join(f'{p[0]:,}' for p in per_bar)} bars (ratio {hi / lo:.2f})."
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", default="100000,1000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bt-max", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=("raydesk", "vectorbt"))
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data)
        return
    import numba
    import pandas as pd
    import polars as pl
    import vectorbt

    from benchmarks.machine import CORES, best_of, loadavg, thread_settings
    from benchmarks.results import write_section

    start_load = loadavg()
    data_dir = Path(tempfile.mkdtemp())
    cold_df = random_walk(COLD_BARS)
    to_polars(cold_df).write_parquet(data_dir / "bars_pl.parquet")
    cold_df.to_parquet(data_dir / "bars_pd.parquet")
    del cold_df
    rows, checks, per_bar = [], [], []
    warm: dict[int, tuple[float, float]] = {}
    for n in (int(x) for x in args.bars.split(",")):
        df = random_walk(n)
        bars = to_polars(df)
        signals = sma_signals(bars)
        entries, exits = shared_signals(signals)
        run_raydesk(signals), run_vectorbt(df, entries, exits)  # first calls (vectorbt compiles)
        ours = best_of(args.repeat, partial(run_raydesk, signals))
        theirs = best_of(args.repeat, partial(run_vectorbt, df, entries, exits))
        fills = same_fills(raydesk_fills(ours.value), vectorbt_fills(theirs.value[0], df.index), "vectorbt")
        assert abs(ours.value.final_equity - theirs.value[1]) <= 1e-6 * CASH
        checks.append(f"{n:,} bars: {fills:,} fills identical to vectorbt's")
        line = [(f"raydesk, {n:,} bars", ours), (f"vectorbt {vectorbt.__version__}, {n:,} bars", theirs)]
        if n <= args.bt_max:
            bt = best_of(min(args.repeat, 2), partial(run_backtesting_py, df))
            trades = same_trades_as_backtesting_py(ours.value, bt.value)
            checks.append(f"{n:,} bars: {trades:,} trades identical to backtesting.py's")
            line.append((f"backtesting.py, {n:,} bars", bt))
        for name, t in line:
            rows.append((n, name, t, ours.seconds))
        per_bar.append((n, ours.seconds / n * 1e6, theirs.seconds / n * 1e6))
        warm[n] = (
            (ours.seconds, theirs.seconds) if ours.quiet and theirs.quiet else (float("nan"), float("nan"))
        )
        print(f"{n:,} bars: raydesk {ours.seconds:.3f} s, vectorbt {theirs.seconds:.3f} s, load {ours.load}")

    cold_rows = [
        (engine, cold(engine, data_dir / f"bars_{suffix}.parquet"))
        for engine, suffix in (("raydesk", "pl"), ("vectorbt", "pd"))
    ]
    threads = thread_settings()
    lines = [
        f"`python benchmarks/bench_backtest.py`: a seeded 1-minute random walk, long-only SMA(10/30), all-in in whole "
        "shares, next-bar-open fills, no costs. Warm: the engines on the same precomputed signals (raydesk `simulate` "
        "vs vectorbt `from_signals` + order records + `value()`; backtesting.py `Backtest.run` with its own SMAs), best of "
        f"{args.repeat} in one process after a first call (backtesting.py best of {min(args.repeat, 2)}). "
        f"Python {platform.python_version()}, {platform.machine()}, {CORES} cores, polars {pl.__version__}, "
        f"pandas {pd.__version__}, numba {numba.__version__}. Threads: {threads}; backtesting.py and vectorbt's "
        "`from_signals` run on one thread. Load: 1-minute load average before / after each figure's runs.",
        "",
        "| engine, bars | seconds (best) | all runs | bars/s | raydesk's speed vs this | load |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for n, name, t, ours_s in rows:
        runs = ", ".join(f"{r:.3f}" for r in t.runs)
        lines.append(
            f"| {name} | {t.seconds:.3f} | {runs} | {n / t.seconds:,.0f} | {t.seconds / ours_s:.2f}× | {t.load} |"
        )
    lines += [
        "",
        "Identity checked before any ratio: "
        + "; ".join(checks)
        + " (time, price, size and side of every fill; "
        "vectorbt's order records, backtesting.py's trade list).",
        "",
        "Cost per bar (µs, warm): "
        + ", ".join(f"{n:,}: raydesk {a:.3f}, vectorbt {b:.3f}" for n, a, b in per_bar)
        + ".",
        "",
        f"Cold, a fresh process on {COLD_BARS:,} bars (interpreter start, imports, first call; the parquet read is "
        "not counted; vectorbt with an empty `NUMBA_CACHE_DIR`, so numba compiles):",
        "",
        "| engine | imports s | first call s | process wall s (incl. read) | load |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for engine, c in cold_rows:
        mark = "" if max(c["load_before"], c["load_after"]) <= CORES else " (load above cores: not a result)"
        lines.append(
            f"| {engine} | {c['import']:.2f} | {c['first_call']:.2f} | {c['wall']:.2f} | "
            f"{c['load_before']:.2f} / {c['load_after']:.2f}{mark} |"
        )
    quiet = all(t.quiet for _, _, t, _ in rows)
    lines += ["", *verdicts(warm, dict(cold_rows), per_bar)]
    lines += [
        "",
        f"Machine load (1, 5, 15 min) at the start: {start_load[0]:.2f}, {start_load[1]:.2f}, {start_load[2]:.2f}; "
        f"at the end: {', '.join(f'{x:.2f}' for x in loadavg())}."
        + (
            ""
            if quiet
            else f" Some figures were taken above load {CORES} and are marked: they are not results."
        ),
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        write_section(SECTION, report)


if __name__ == "__main__":
    main()
