"""Null rates of the promotion gates: how often each gate passes on a market with no edge.

``python -m training.null_rates --seeds 1 2 3 --trials 8 [--edge]`` generates the synthetic market with
its edges off for each seed, runs ``trials`` sampled configurations walk-forward (the default
daily layout for swing, in process, no Ray) and reports, per gate, the share of all trials and
of each seed's best trial (the one the pipeline would register) that pass it, with the profit
factor and expectancy after costs beside them. ``docs/training-gates-registry.md`` records a run.
"""

from __future__ import annotations

import argparse
import math
from datetime import date

from rich.console import Console
from rich.table import Table

from training.gates import GateConfig, GateReport, evaluate_gates, per_period_sharpe_variance
from training.pipeline import TrainingOptions, prepare
from training.trainable import walk_forward
from training.tuner import sample_configs, search_space

__all__ = ["main"]


def _gates(
    strategy: str,
    symbols: list[str],
    start: date,
    end: date,
    seed: int,
    trials: int,
    gates: GateConfig,
    edge: bool = False,
) -> list[tuple[float, float, float, GateReport]]:
    options = TrainingOptions(synthetic=True, edge_enabled=edge, seed=seed, baseline=False)
    data, source = prepare(strategy, symbols, start, end, options)
    configs = sample_configs(search_space(strategy, source.timeframe == "1d"), trials, seed)
    runs = [walk_forward(data, c) for c in configs]
    sharpes = [r.pooled.metrics.sharpe for r in runs]
    out = []
    for run in runs:
        m = run.pooled.metrics
        variance = per_period_sharpe_variance(sharpes, m.periods_per_year) if len(runs) > 1 else 0.0
        pnl = run.pooled.trades["pnl"].to_numpy() if run.pooled.trades.height else None
        expectancy = float(pnl.mean()) if pnl is not None else math.nan
        report = evaluate_gates(m, trials, variance, run.returns, gates)
        out.append((m.sharpe, m.profit_factor, expectancy, report))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strategy", default="swing_trend_following")
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 3))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31))
    parser.add_argument("--edge", action="store_true", help="The planted edges on (the power check).")
    args = parser.parse_args()
    symbols = [f"SYN{chr(ord('A') + i)}" for i in range(args.symbols)]
    gates = GateConfig()
    everything, best = [], []
    for seed in args.seeds:
        results = _gates(args.strategy, symbols, args.start, args.end, seed, args.trials, gates, args.edge)
        everything += results
        best.append(max(results, key=lambda r: r[0] if math.isfinite(r[0]) else -math.inf))
    market = "the planted edge" if args.edge else "noise"
    table = Table(title=f"{args.strategy} on {market}: {len(args.seeds)} seeds x {args.trials} trials")
    for col in ("gate", "all trials pass", "best of each seed pass"):
        table.add_column(col)
    names = [g.name for g in everything[0][3].gates]
    for i, name in enumerate(names):
        table.add_row(
            name, _share(r[3].gates[i].passed for r in everything), _share(r[3].gates[i].passed for r in best)
        )
    table.add_row("every gate", _share(r[3].passed for r in everything), _share(r[3].passed for r in best))
    table.add_row(
        "profit factor >= 1.2", _share(r[1] >= 1.2 for r in everything), _share(r[1] >= 1.2 for r in best)
    )
    table.add_row(
        "expectancy > 0 after costs", _share(r[2] > 0 for r in everything), _share(r[2] > 0 for r in best)
    )
    non_dsr = [r for r in everything if all(g.passed for g in r[3].gates if g.name != "deflated_sharpe")]
    table.add_row("all but DSR", f"{len(non_dsr)}/{len(everything)}", f"{len(non_dsr)} trials")
    table.add_row(
        "all but DSR, and PF >= 1.2", _share(r[1] >= 1.2 for r in non_dsr) if non_dsr else "-", "of those"
    )
    Console(width=120).print(table)


def _share(flags: object) -> str:
    values = list(flags)  # type: ignore[call-overload]
    return f"{sum(values)}/{len(values)} ({100 * sum(values) / max(len(values), 1):.0f} %)"


if __name__ == "__main__":
    main()
