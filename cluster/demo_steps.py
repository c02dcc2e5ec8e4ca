"""``run_demo`` and its steps: each one small, each one usable on its own."""

from __future__ import annotations

import base64
import html
import json
import time
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from adapters.store import BarStore
from cluster.demo import (
    INTRADAY_HISTORY_SESSIONS,
    OPTIONS_SESSIONS,
    DemoPlan,
    DemoReport,
    demo_settings,
    dump_summary,
    summarize,
)
from cluster.synthetic import synthetic_config, write_synthetic
from configs import Settings, load_settings
from core.calendar import NEW_YORK, MarketCalendar
from core.clock import LiveClock
from core.model import AccountId, OrderSide

TRAINABLE = ("intraday_mean_reversion", "swing_trend_following")


def run_demo(plan: DemoPlan, console: Console, base: Settings | None = None) -> DemoReport:
    """Run every step of the demo; see the module docstring."""
    from cluster.runtime import connect, dashboard_url

    settings = demo_settings(base or load_settings(), plan)
    connect(include_dashboard=True)
    if dashboard_url():
        console.print(f"Ray dashboard (named actors in namespace 'raydesk'): {dashboard_url()}")
    report = DemoReport(plan)
    started = time.perf_counter()
    steps = (
        ("market", lambda: generate_market(plan, settings, console)),
        ("training", lambda: report.models.update(train_models(plan, settings, console))),
        ("serving", lambda: serve_models(plan, settings, report.models, console)),
        ("replay", lambda: report.accounts.update(replay(plan, settings, console))),
    )
    for name, step in steps:
        console.rule(f"[bold]{name}")
        t0 = time.perf_counter()
        step()
        report.timings[name] = time.perf_counter() - t0
    report.timings["total"] = time.perf_counter() - started
    report.report_dir = write_report(report, BarStore(plan.data_dir), settings)
    summarize(report, console)
    return report


def demo_strategies(plan: DemoPlan, settings: Settings) -> list[str]:
    """The trainable strategies of the demo's accounts, in a stable order."""
    used = {s for a in plan.accounts for s in settings.account(a).strategies}
    return [s for s in TRAINABLE if s in used]


def generate_market(plan: DemoPlan, settings: Settings, console: Console) -> int:
    config = synthetic_config(
        settings,
        ",".join(plan.symbols),
        plan.history_start,
        plan.session,
        plan.seed,
        no_edge=not plan.edge_enabled,
    )
    return write_synthetic(config, BarStore(plan.data_dir), console)


def train_models(plan: DemoPlan, settings: Settings, console: Console) -> dict[str, dict[str, Any]]:
    """Tune, gate and (when every gate passes) promote a model per trainable strategy."""
    from cluster.runtime import connect
    from training.backtest import BacktestConfig
    from training.pipeline import TrainingOptions, train_and_promote
    from training.registry import ModelRegistry
    from training.tuner import TuneOptions

    connect()
    calendar = MarketCalendar()
    registry = ModelRegistry(plan.models_dir.resolve(), LiveClock())
    sessions = calendar.sessions(plan.history_start, plan.training_end)
    layouts = {
        # minute bars: 3 folds of 20 training and 8 test sessions over the last 60 sessions
        "intraday_mean_reversion": (sessions[-INTRADAY_HISTORY_SESSIONS], 3, 20, 8),
        # daily bars: 200 sessions of indicator warm-up, then 100 training sessions, a 1-session
        # gap and 2 test folds of 49 (the 200 sessions left after the warm-up hold no more)
        "swing_trend_following": (plan.history_start, 2, 100, 49),
    }
    results: dict[str, dict[str, Any]] = {}
    for strategy in demo_strategies(plan, settings):
        start, folds, train, test = layouts[strategy]
        options = TrainingOptions.from_settings(
            settings,
            folds=folds,
            train_sessions=train,
            test_sessions=test,
            num_samples=plan.num_samples,
            backtest=BacktestConfig(slippage=1e-4, close_at_end=True),
            tune=TuneOptions(
                storage_path=plan.tune_dir.resolve(),
                name=f"{strategy}_{plan.session:%Y%m%d}",
                seed=plan.seed,
                verbose=0,
            ),
            data_dir=plan.data_dir,
            seed=plan.seed,
            edge_enabled=plan.edge_enabled,
        )
        outcome = train_and_promote(
            strategy, list(plan.symbols), start, plan.training_end, options, registry, console
        )
        report = outcome.gate_report
        results[strategy] = {
            "version": outcome.version.version if outcome.version else None,
            "promoted": outcome.promoted,
            "trials": outcome.n_trials,
            "oos_sharpe": None if outcome.best is None else round(outcome.oos_sharpe, 3),
            "rules_only_sharpe": outcome.rules_only_sharpe,
            "gates": "passed"
            if report is not None and report.passed
            else ("failed: " + ", ".join(report.failed) if report is not None else "no trial"),
        }
    return results


def serve_models(
    plan: DemoPlan, settings: Settings, models: dict[str, dict[str, Any]], console: Console
) -> bool:
    """Serve the promoted models; False (rules only) when nothing passed the gates."""
    promoted = [s for s, m in models.items() if m.get("promoted")]
    if not promoted:
        console.print("[yellow]no model passed its gates: the accounts trade on their rules[/yellow]")
        return False
    from serving.deploy import deploy
    from serving.options import ServingOptions

    deploy(plan.models_dir.resolve(), promoted, ServingOptions.from_settings(settings.serve))
    console.print(f"serving {', '.join(promoted)} at http://{settings.serve.host}:{settings.serve.port}/v1")
    return True


def options_accounts(plan: DemoPlan, settings: Settings) -> list[str]:
    return [a for a in plan.accounts if "trident" in settings.account(a).strategies]


def replay(plan: DemoPlan, settings: Settings, console: Console) -> dict[str, dict[str, Any]]:
    """Replay the session through the account actors; the per-account outcome.

    The options accounts first trade the sessions before (``OPTIONS_SESSIONS`` in all), so a
    Trident opened there is held over a close and closed on a later session.
    """
    from cluster.replay import replay_session
    from core.trading.options import OptionsSpec

    served = any(m.get("promoted") for m in _served_models(plan))
    options = options_accounts(plan, settings)
    calendar = MarketCalendar()
    days = [plan.session]
    while len(days) < OPTIONS_SESSIONS:
        days.insert(0, calendar.previous_session(days[0]))
    common: dict[str, Any] = {
        "state_dir": plan.state_dir,
        "symbols": list(plan.symbols),
        "scorer": "serve" if served else None,
        "options": OptionsSpec.demo(),
        "venue": plan.venue,
    }
    for day in days[:-1] if options else []:
        before = replay_session(settings, day, accounts=options, **common)
        console.print(
            f"{', '.join(options)}: {before.steps} minutes of {day} replayed in {before.wall_s:.1f}s"
        )
    result = replay_session(settings, plan.session, accounts=list(plan.accounts), **common)
    console.print(f"{result.steps} minutes replayed in {result.wall_s:.1f}s ({result.retries} retried steps)")
    accounts: dict[str, dict[str, Any]] = {}
    learning = _learning(plan, settings)
    for name, acct in result.accounts.items():
        bankroll = Decimal(str(settings.account(name).bankroll))
        equity = Decimal(acct.equity)
        accounts[name] = {
            "strategies": list(settings.account(name).strategies),
            "orders": len(acct.venue_orders),
            "fills": len(acct.venue_fills),
            "equity": float(equity),
            "pnl": float(equity - bankroll),
            "denials": dict(acct.denials),
            "lost_fills": len(acct.lost_fills),
            "unknown_orders": len(acct.unknown_orders),
            "open_positions": {k: v for k, v in acct.ledger_positions.items() if Decimal(v) != 0},
            "snapshots": learning.get(name, {}),
            "sessions": len(days) if name in options else 1,
        }
    return accounts


def _learning(plan: DemoPlan, settings: Settings) -> dict[str, dict[str, int]]:
    """Learning snapshots per account (entry, daily, exit) from ``core.learning.stats``."""
    from adapters.ledger.postgres import open_ledger
    from core.learning import stats

    ledger = open_ledger(settings.ledger.location, LiveClock())
    try:
        out: dict[str, dict[str, int]] = {}
        for name in plan.accounts:
            s = stats(ledger, name)
            out[name] = {
                "entry": s.entry_snapshots,
                "daily": s.daily_snapshots,
                "exit": s.exit_snapshots,
                "complete": s.complete,
            }
        return out
    finally:
        ledger.close()


def _served_models(plan: DemoPlan) -> list[dict[str, Any]]:
    from training.registry import ModelRegistry

    registry = ModelRegistry(plan.models_dir.resolve(), LiveClock())
    return [{"promoted": registry.promoted(s) is not None} for s in registry.strategies()]


# -- report ---------------------------------------------------------------------------------
def equity_curves(plan: DemoPlan, settings: Settings, store: BarStore) -> pl.DataFrame:
    """Each account's equity at every minute close: cash plus positions marked at the close."""
    from adapters.ledger.postgres import open_ledger

    open_, close = MarketCalendar().session_open_close(plan.session)
    bars = store.read("1m", list(plan.symbols), open_, close).select("symbol", "ts", "close").sort("ts")
    marks = bars.pivot(on="symbol", index="ts", values="close").sort("ts").fill_null(strategy="forward")
    ledger = open_ledger(settings.ledger.location, LiveClock())
    try:
        frames = []
        for name in plan.accounts:
            if "trident" in settings.account(name).strategies:
                continue  # option legs have no minute bars to mark them with: see the table
            fills = sorted(ledger.fills(AccountId(name)), key=lambda f: f.ts)
            cash = float(settings.account(name).bankroll)
            held: dict[str, float] = defaultdict(float)
            values: list[float] = []
            i = 0
            for row in marks.iter_rows(named=True):
                ts: datetime = row["ts"]
                while i < len(fills) and fills[i].ts <= ts:
                    f = fills[i]
                    signed = float(f.quantity.value) * (1 if f.side is OrderSide.BUY else -1)
                    held[str(f.instrument)] += signed
                    cash += float(f.cash_flow.amount)
                    i += 1
                values.append(cash + sum(q * float(row.get(sym) or 0.0) for sym, q in held.items()))
            frames.append(pl.DataFrame({"ts": marks["ts"], "account": name, "equity": values}))
    finally:
        ledger.close()
    if not frames:  # options accounts only: nothing to mark at minute closes
        return pl.DataFrame(schema={"ts": marks.schema["ts"], "account": pl.String, "equity": pl.Float64})
    return pl.concat(frames)


def _plot(curves: pl.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name in curves["account"].unique(maintain_order=True).to_list():
        part = curves.filter(pl.col("account") == name)
        start = part["equity"][0]
        ts = [t.astimezone(NEW_YORK) for t in part["ts"].to_list()]
        ax.plot(ts, [v - start for v in part["equity"].to_list()], label=name)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_title(title)
    ax.set_ylabel("P&L (USD), marked at each minute close")
    ax.set_xlabel("America/New_York")
    if curves.height:
        ax.legend()
    else:
        message = "no account with minute-bar positions in this run (options accounts: see the table)"
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _snaps(account: dict[str, Any]) -> str:
    snaps = account.get("snapshots", {})
    return "/".join(str(snaps.get(k, 0)) for k in ("entry", "daily", "exit"))


def write_report(report: DemoReport, store: BarStore, settings: Settings) -> Path:
    """``report.html``, ``equity.png`` and ``summary.json`` in the plan's report folder."""
    out = report.plan.report_dir
    out.mkdir(parents=True, exist_ok=True)
    curves = equity_curves(report.plan, settings, store)
    png = out / "equity.png"
    _plot(curves, png, f"raydesk demo: session {report.plan.session}")
    dump_summary(report, out / "summary.json")
    image = base64.b64encode(png.read_bytes()).decode()
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(', '.join(a['strategies']))}</td>"
        f"<td>{a['orders']}</td><td>{a['fills']}</td><td>{a['pnl']:+,.2f}</td><td>{a['equity']:,.2f}</td>"
        f"<td>{html.escape(_snaps(a))}</td><td>{html.escape(json.dumps(a['denials']))}</td></tr>"
        for n, a in report.accounts.items()
    )
    models = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{html.escape(str(m.get('version')))}</td>"
        f"<td>{'yes' if m.get('promoted') else 'no'}</td><td>{html.escape(str(m.get('oos_sharpe')))}</td>"
        f"<td>{html.escape(str(m.get('gates')))}</td></tr>"
        for s, m in report.models.items()
    )
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
    (out / "report.html").write_text(
        "<!doctype html><meta charset=utf-8><title>raydesk demo</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style>"
        f"<h1>raydesk demo: session {report.plan.session}</h1>"
        f"<p>{len(report.plan.symbols)} synthetic symbols, seed {report.plan.seed}, paper accounts on "
        f"the simulated exchange. Timings: {html.escape(timings)}.</p>"
        "<h2>Accounts</h2><table><tr><th>account</th><th>strategies</th><th>orders</th><th>fills</th>"
        f"<th>P&amp;L</th><th>equity</th><th>snapshots entry/daily/exit</th><th>denials</th></tr>{rows}</table>"
        "<p>Options accounts trade the Trident over the sessions before as well (orders, fills and "
        "P&amp;L are cumulative); they are left out of the equity plot, which marks minute bars.</p>"
        "<h2>Models</h2><table><tr><th>strategy</th><th>version</th><th>promoted</th>"
        f"<th>OOS Sharpe</th><th>gates</th></tr>{models}</table>"
        f'<h2>Equity</h2><img alt="equity per account" src="data:image/png;base64,{image}">'
    )
    curves.write_csv(out / "equity.csv")
    return out
