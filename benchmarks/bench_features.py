"""Benchmark: intraday features, polars (``core.features``) vs plain pandas, same definitions.

Run: ``python benchmarks/bench_features.py [--symbols 50 --bars 100000]``. Generates 1-minute
bars on real XNYS session minutes with numpy, checks that both implementations agree to
1e-9 on every row, then times each (best of ``--repeat``) in this one process and rewrites
the "## Features: polars vs pandas" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import polars as pl

from benchmarks.pandas_features import pandas_intraday
from benchmarks.results import write_section as write_results
from core.calendar import MarketCalendar
from core.features import INTRADAY_FEATURES, intraday_features
from core.features.sessions import session_hours

RESULTS = Path(__file__).with_name("RESULTS.md")
TITLE = "## Features: polars vs pandas"
TARGET_SPEEDUP = 3.0
START = date(2023, 1, 3)


def minute_stamps(n_bars: int) -> np.ndarray:
    """The first ``n_bars`` XNYS session minutes from ``START`` (UTC, microseconds)."""
    cal = MarketCalendar()
    out: list[np.ndarray] = []
    have, end = 0, START + timedelta(days=int(n_bars / 390 * 1.5) + 30)
    for d in cal.sessions(START, end):
        opened, closed = cal.session_open_close(d)
        first = np.datetime64(opened.replace(tzinfo=None), "us")
        count = int((closed - opened).total_seconds() // 60)
        out.append(first + np.arange(count) * np.timedelta64(60, "s"))
        have += count
        if have >= n_bars:
            break
    return np.concatenate(out)[:n_bars]


def make_bars(n_symbols: int, n_bars: int, seed: int = 42) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_symbols * n_bars
    stamps = np.tile(minute_stamps(n_bars), n_symbols)
    steps = rng.normal(0.0, 1e-3, (n_symbols, n_bars))
    close = (rng.uniform(20, 500, (n_symbols, 1)) * np.exp(np.cumsum(steps, axis=1))).ravel()
    open_ = close * np.exp(rng.normal(0.0, 3e-4, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 5e-4, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 5e-4, n)))
    half = close * rng.uniform(1e-4, 1e-3, n)
    symbols = np.repeat(np.array([f"S{i:03d}" for i in range(n_symbols)]), n_bars)
    return {
        "symbol": symbols,
        "ts": stamps,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": rng.lognormal(8.0, 0.7, n).round(),
        "bid": close - half,
        "ask": close + half,
    }


def to_polars(cols: dict[str, np.ndarray]) -> pl.DataFrame:
    frame = pl.DataFrame(cols)
    return frame.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))


def to_pandas(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame(cols)
    frame["ts"] = frame["ts"].dt.tz_localize("UTC")
    return frame


def pandas_hours(stamps: np.ndarray) -> pd.DataFrame:
    days = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert("America/New_York")
    hours = session_hours(days.min().date(), days.max().date()).to_pandas()
    hours["session"] = pd.to_datetime(hours["session"])
    return hours


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU seconds of one call."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def check_identical(polars_out: pl.DataFrame, pandas_out: pd.DataFrame) -> None:
    assert polars_out.height == len(pandas_out)
    assert (polars_out["symbol"].to_numpy() == pandas_out["symbol"].to_numpy()).all()
    for name in INTRADAY_FEATURES:
        a = polars_out[name].to_numpy().astype(float)
        b = pandas_out[name].to_numpy().astype(float)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise AssertionError(f"{name}: null layouts differ")
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True):
            worst = np.nanmax(np.abs(a - b))
            raise AssertionError(f"{name}: polars and pandas differ by up to {worst}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    cols = make_bars(args.symbols, args.bars)
    rows = args.symbols * args.bars
    pl_bars, pd_bars = to_polars(cols), to_pandas(cols)
    hours = pandas_hours(cols["ts"])
    del cols

    # Correctness first, on the full data set (also the warm-up run of each).
    check_identical(intraday_features(pl_bars), pandas_intraday(pd_bars, hours))
    print(f"check: polars == pandas to 1e-9 on {rows:,} rows x {len(INTRADAY_FEATURES)} features")

    # Interleaved, so both implementations see the same background load.
    runs: dict[str, list[tuple[float, float]]] = {"polars": [], "pandas": []}
    for _ in range(args.repeat):
        runs["polars"].append(timed(lambda: intraday_features(pl_bars)))
        runs["pandas"].append(timed(lambda: pandas_intraday(pd_bars, hours)))
    pl_best, pl_cpu = min(runs["polars"])
    pd_best, pd_cpu = min(runs["pandas"])
    load = os.getloadavg()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    speedup = pd_best / pl_best
    for name, best in (("polars", pl_best), ("pandas", pd_best)):
        walls = [round(w, 2) for w, _ in runs[name]]
        print(
            f"{name} best {best:.2f} s ({rows / best / 1e6:.2f} M rows/s); wall/cpu runs {walls} {[round(c, 2) for _, c in runs[name]]}"
        )
    print(
        f"speed-up {speedup:.1f}x wall (target >= {TARGET_SPEEDUP:.0f}x); load avg {load}; peak RSS {peak_mb:,.0f} MB"
    )

    body = f"""{TITLE}

`python benchmarks/bench_features.py` on {os.cpu_count()} CPUs, Python {platform.python_version()},
polars {pl.__version__}, pandas {pd.__version__}, numpy {np.__version__}.
{args.symbols} symbols x {args.bars:,} 1-minute bars = {rows:,} rows on real XNYS session minutes
from {START} (numpy random walk, seed 42); the 8 intraday features of `core.features`
(`{", ".join(INTRADAY_FEATURES)}`), per symbol and session. Both implementations were checked
to agree to 1e-9 (and in null layout) on every row before timing.

| implementation (best of {args.repeat}, interleaved) | wall | CPU of that run | rows/s (wall) |
| --- | --- | --- | --- |
| polars `intraday_features` | {pl_best:.2f} s | {pl_cpu:.2f} s | {rows / pl_best / 1e6:.2f} M |
| pandas groupby + rolling/ewm | {pd_best:.2f} s | {pd_cpu:.2f} s | {rows / pd_best / 1e6:.2f} M |

All runs, wall s: polars {[round(w, 2) for w, _ in runs["polars"]]}, pandas {[round(w, 2) for w, _ in runs["pandas"]]}.
The machine was shared with other jobs (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end
of the run on {os.cpu_count()} CPUs), so wall times are noisy; the CPU column is steadier.

Speed-up (best wall): **{speedup:.1f}x** (target >= {TARGET_SPEEDUP:.0f}x: {"met" if speedup >= TARGET_SPEEDUP else "NOT met"});
CPU-time ratio of the same runs: {pd_cpu / pl_cpu:.1f}x.
Peak RSS of the whole run (both frames, both outputs): {peak_mb:,.0f} MB.
"""
    if not args.no_write:
        write_results(TITLE, body)


if __name__ == "__main__":
    main()
