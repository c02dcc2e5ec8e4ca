"""The main job on the embedded default: market, training, serving, a replayed session, a report.

``cluster.demo_steps.run_demo`` is what ``raydesk demo`` runs (locally or through ``ray job submit``);
this module holds its plan and its report:

1. generate the deterministic synthetic market into the parquet store;
2. train every strategy of the demo accounts walk-forward with Ray Tune and promote what
   passes the gates;
3. serve the promoted models with Ray Serve (accounts fall back to their rules for a strategy
   without a promoted model, and record that they did);
4. start the paper accounts on the simulated exchange and replay one full session on the
   simulated clock as fast as it goes, flattening before the close; the options account
   (Trident) is replayed over the session before too, with the demo's short-dated setting
   (``OptionsSpec.demo()``), so the report shows an entry, a daily snapshot and an exit;
5. write a report (orders, fills, P&L and learning snapshots per account, model versions, an
   equity plot).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from configs import Settings
from core.calendar import MarketCalendar

OPTIONS_SESSIONS = 2
"""Sessions the options account is replayed over (ending with the demo's): entry, then exit."""
DEMO_OPTIONS_OFFSET_CENTS = 500
"""Demo setting: the Trident's limit is floored at the natural price, so it fills on the next
quote (at the default 4 cents off mid a combination rarely fills within a replayed session)."""
INTRADAY_HISTORY_SESSIONS = 60
"""Sessions of minute bars before the replayed one (walk-forward folds of 20 + 8 sessions)."""
SWING_HISTORY_SESSIONS = 400
"""Sessions of daily bars the swing model trains on (200 of them are indicator warm-up)."""


@dataclass(frozen=True)
class DemoPlan:
    """Where the demo writes and what it replays."""

    root: Path
    symbols: tuple[str, ...]
    session: date
    history_start: date
    seed: int = 7
    accounts: tuple[str, ...] = ("intraday", "swing", "options")
    num_samples: int = 4
    edge_enabled: bool = True
    venue: str = "sim"
    """``sim``, or a broker simulator (``alpaca-sim`` ...) serving the accounts' exchanges."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def tune_dir(self) -> Path:
        return self.root / "tune"

    @property
    def report_dir(self) -> Path:
        return self.root / "reports" / f"demo_{self.session:%Y%m%d}"

    @property
    def training_end(self) -> date:
        """The last session models may learn from: the one before the replayed session."""
        return MarketCalendar().previous_session(self.session)


def plan_demo(
    root: Path,
    symbols: Sequence[str],
    session: date | None = None,
    seed: int = 7,
    accounts: Sequence[str] = ("intraday", "swing", "options"),
    num_samples: int = 4,
    venue: str = "sim",
) -> DemoPlan:
    """A plan replaying ``session`` (default: the last session of 2025) after enough history."""
    calendar = MarketCalendar()
    day = session or calendar.previous_session(date(2026, 1, 2))
    if not calendar.is_session(day):
        raise ValueError(f"{day} is not an XNYS session")
    history = calendar.sessions(day - timedelta(days=SWING_HISTORY_SESSIONS * 2), day)
    first = history[-(SWING_HISTORY_SESSIONS + 1)]
    return DemoPlan(Path(root), tuple(symbols), day, first, seed, tuple(accounts), num_samples, venue=venue)


def demo_settings(base: Settings, plan: DemoPlan) -> Settings:
    """``base`` pointed at the plan's folders, symbols and seed."""
    data = base.data.model_copy(
        update={
            "data_dir": plan.data_dir,
            "symbols": list(plan.symbols),
            "seed": plan.seed,
            "start": plan.history_start,
            "end": plan.session,
        }
    )
    ledger = base.ledger.model_copy(update={"path": plan.state_dir / "ledger.sqlite3"})
    redis = base.redis.model_copy(update={"embedded_path": plan.state_dir / "redis.db"})
    accounts = [
        a.model_copy(update={"entry_offset_cents": DEMO_OPTIONS_OFFSET_CENTS})
        if "trident" in a.strategies
        else a
        for a in base.accounts
    ]
    return base.model_copy(update={"data": data, "ledger": ledger, "redis": redis, "accounts": accounts})


@dataclass
class DemoReport:
    """What the demo did, with the figures of each step."""

    plan: DemoPlan
    timings: dict[str, float] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    report_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.plan.session.isoformat(),
            "symbols": list(self.plan.symbols),
            "seed": self.plan.seed,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
            "models": self.models,
            "accounts": self.accounts,
        }


def summarize(report: DemoReport, console: Console) -> None:
    """The closing tables: per account, per model, and where the report is."""
    table = Table(title=f"session {report.plan.session} (simulated exchange, paper)")
    for col in (
        "account",
        "strategies",
        "orders",
        "fills",
        "P&L",
        "final equity",
        "snapshots e/d/x",
        "denials",
    ):
        table.add_column(col, justify="left" if col in ("account", "strategies", "denials") else "right")
    for name, acct in report.accounts.items():
        table.add_row(
            name,
            ", ".join(acct["strategies"]),
            str(acct["orders"]),
            str(acct["fills"]),
            f"{acct['pnl']:+,.2f}",
            f"{acct['equity']:,.2f}",
            "/".join(str(acct.get("snapshots", {}).get(k, 0)) for k in ("entry", "daily", "exit")),
            ", ".join(f"{k} {v}" for k, v in sorted(acct["denials"].items())) or "-",
        )
    console.print(table)
    models = Table(title="models")
    for col in ("strategy", "version", "promoted", "OOS Sharpe", "gates"):
        models.add_column(col)
    for strategy, m in report.models.items():
        models.add_row(
            strategy,
            m.get("version") or "-",
            "yes" if m.get("promoted") else "no (rules only)",
            f"{m['oos_sharpe']:.2f}" if m.get("oos_sharpe") is not None else "-",
            m.get("gates", "-"),
        )
    console.print(models)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
    console.print(f"timings: {timings}")
    if report.report_dir is not None:
        console.print(f"[green]report:[/green] {report.report_dir / 'report.html'}")
        console.print(f"summary: {report.report_dir / 'summary.json'}")


def dump_summary(report: DemoReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str))
