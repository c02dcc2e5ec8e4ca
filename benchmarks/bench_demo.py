"""The main job's wall time, and bar-event to order-submitted latency inside the account actors.

Runs ``raydesk demo`` (market, Tune, Serve, replay, report) in a temporary folder and records
each step's time; then replays the same session again with the models served and every step's
result kept, and takes the per-order latencies that the account actors measured themselves
(the bar event reaching ``AccountService.on_bars`` to the venue accepting the order).

Targets (issue: trading plane): the session of 20 symbols and 3 accounts replayed in under
2 minutes on this 2-core machine; p99 bar-event to order-submitted under 20 ms.

    python benchmarks/bench_demo.py            # writes its section of benchmarks/RESULTS.md
    python benchmarks/bench_demo.py --no-write
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results import write_section

SECTION = "## Demo: wall time and in-actor latency"
SYMBOLS = [f"SYN{c}" for c in "ABCDEFGHIJKLMNOPQRST"]
ACCOUNTS = ("intraday", "swing", "options")


def _percentiles(values: list[float]) -> tuple[float, float, int]:
    if not values:
        return float("nan"), float("nan"), 0
    arr = np.asarray(values)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), len(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--replays", type=int, default=5, help="latency replays after the demo")
    args = parser.parse_args()

    from rich.console import Console

    from cluster.demo import demo_settings, plan_demo
    from cluster.demo_steps import run_demo
    from cluster.replay import replay_session
    from configs import load_settings
    from core.trading.options import OptionsSpec
    from core.trading.outcomes import EventOutcome

    console = Console()
    with tempfile.TemporaryDirectory(prefix="raydesk-bench-demo-") as tmp:
        root = Path(tmp)
        plan = plan_demo(root / "demo", SYMBOLS, date(2025, 12, 31), accounts=ACCOUNTS)
        load_before = os.getloadavg()[0]
        report = run_demo(plan, console, load_settings())
        timings = dict(report.timings)
        load_demo = os.getloadavg()[0]

        # The same session again, models served, every step kept, each time with a fresh state
        # folder, ledger and Redis (on the demo's ledger every order would be a duplicate).
        settings = demo_settings(load_settings(), plan)
        served = any(m.get("promoted") for m in report.models.values())
        latencies: list[float] = []
        walls: list[float] = []
        for run in range(args.replays):
            state = root / f"state-again-{run}"
            state.mkdir(parents=True)
            fresh = settings.model_copy(
                update={
                    "ledger": settings.ledger.model_copy(update={"path": state / "ledger.sqlite3"}),
                    "redis": settings.redis.model_copy(update={"embedded_path": state / "redis.db"}),
                }
            )
            again = replay_session(
                fresh,
                plan.session,
                state_dir=state,
                accounts=list(ACCOUNTS),
                symbols=SYMBOLS,
                scorer="serve" if served else None,
                options=OptionsSpec.demo(),
                keep_steps=True,
            )
            walls.append(again.wall_s)
            for step in again.step_results:
                for outcome in (*step.accounts.values(), *step.daily.values()):
                    if isinstance(outcome, EventOutcome):
                        latencies.extend(outcome.latency_ms)
        p50, p99, n = _percentiles(latencies)
        load_replay = os.getloadavg()[0]

    lines = [
        SECTION,
        "",
        f"`python benchmarks/bench_demo.py`: `raydesk demo` with {len(SYMBOLS)} symbols and "
        f"{len(ACCOUNTS)} paper accounts ({', '.join(ACCOUNTS)}), session {plan.session}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}. Load average 1 min: "
        f"{load_before:.1f} before, {load_demo:.1f} after the demo, {load_replay:.1f} after the replay.",
        "",
        "| step | seconds |",
        "| --- | ---: |",
        *[f"| {k} | {v:.1f} |" for k, v in timings.items()],
        "",
        f"Replay of the session with models served (options account: its session only here), "
        f"{again.steps} minutes: {', '.join(f'{w:.1f}' for w in walls)} s over {len(walls)} runs "
        "(target: under 120 s).",
        "",
        f"Bar event to order submitted, measured inside the account actors (from the bar reaching "
        f"`AccountService.on_bars` to the venue accepting the order) over {n} orders in "
        f"{len(walls)} replays: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies, default=0):.1f} ms "
        f"(target: p99 under 20 ms: {'met' if p99 < 20 else 'NOT met'}).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
