"""Benchmark: synthetic minute bars for 20 symbols over 2025, then writing them to the store.

Run: ``python benchmarks/bench_synthetic.py``. Prints the figures and rewrites the
"## Synthetic market generation" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from adapters.market.synthetic import SyntheticMarketConfig, daily_bars, generate_bars
from adapters.store import BarStore
from benchmarks.results import write_section as write_results

RESULTS = Path(__file__).with_name("RESULTS.md")
TITLE = "## Synthetic market generation"
TARGET_SECONDS = 60.0


def run(repeats: int = 3) -> dict[str, float | int | str]:
    config = SyntheticMarketConfig(seed=7, start=date(2025, 1, 1), end=date(2025, 12, 31))
    generate_bars(config, list(config.symbols[:1]))  # warm up imports and the calendar
    timings = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        bars = generate_bars(config)
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    daily = daily_bars(bars)
    t_daily = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        store = BarStore(tmp)
        t0 = time.perf_counter()
        store.write(bars, "1m")
        store.write(daily, "1d")
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = store.read("1m")
        t_read = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.parquet"))
    assert back.height == bars.height
    first, last = bars.select(pl.col("ts").min()).item(), bars.select(pl.col("ts").max()).item()
    return {
        "symbols": len(config.symbols),
        "sessions": daily.height // len(config.symbols),
        "rows": bars.height,
        "span": f"{first:%Y-%m-%d} to {last:%Y-%m-%d}",
        "generate_best": min(timings),
        "generate_worst": max(timings),
        "daily": t_daily,
        "write": t_write,
        "read": t_read,
        "mb": size / 1e6,
    }


def section(r: dict[str, float | int | str]) -> str:
    gen = float(r["generate_best"])
    verdict = "meets" if gen < TARGET_SECONDS else "MISSES"
    return f"""{TITLE}

`python benchmarks/bench_synthetic.py` on {os.cpu_count()} CPUs (nproc), Python {platform.python_version()},
polars {pl.__version__}; data span {r["span"]} (XNYS sessions), seed 7, edges on.

| step | result |
| --- | --- |
| generate 1-minute bars, {r["symbols"]} symbols × {r["sessions"]} sessions = {int(r["rows"]):,} rows | {gen:.2f} s best of 3 (worst {float(r["generate_worst"]):.2f} s); {int(r["rows"]) / gen / 1e6:.1f} M rows/s |
| aggregate daily bars | {float(r["daily"]):.2f} s |
| write 1m + 1d to the `BarStore` (validate, partition, zstd parquet) | {float(r["write"]):.2f} s, {float(r["mb"]):.1f} MB on disk |
| read all 1m bars back | {float(r["read"]):.2f} s |

Target: generation under {TARGET_SECONDS:.0f} s; this run {verdict} it.
"""


if __name__ == "__main__":
    result = run()
    text = section(result)
    print(text)
    write_results(TITLE, text)
