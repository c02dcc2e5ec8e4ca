"""The nightly retrain: Tune walk-forward training submitted as Ray work, collected later.

``nightly_retrain`` builds a ``RetrainPlan`` and submits ``run_retrain`` as a
``ray.remote(num_cpus=0)`` task: the task only drives Tune (its trials take the CPUs), so it
holds none itself, and the scheduler returns at once with the ``ObjectRef``. ``collect_retrain``
waits for (or polls) that ref, records the outcome and, after a promotion, swaps the served
models (``serving.deploy.refresh_after_promotion``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.notify import NotificationDispatcher
from cluster.tasks.common import DeskPaths, sessions_back, trainable_strategies
from cluster.tasks.premarket import read_universe
from configs import Settings
from core.calendar import MarketCalendar
from core.clock import Clock, LiveClock, SimClock
from core.learning import export, learning_rows_for_training
from core.ports.ledger import Ledger
from core.ports.notify import Notification
from training.pipeline import TrainingOptions, train_and_promote
from training.registry import ModelRegistry
from training.tuner import TuneOptions

__all__ = [
    "RetrainHandle",
    "RetrainPlan",
    "StrategyOutcome",
    "collect_retrain",
    "drift_check",
    "nightly_retrain",
    "retrain_ready",
    "run_retrain",
]

LEARNING_ROWS = Path("learning") / "training_rows.parquet"


@dataclass(frozen=True)
class RetrainPlan:
    """Everything the Ray task needs (picklable; no open handles)."""

    session: date
    start: date
    strategies: tuple[str, ...]
    symbols: tuple[str, ...]
    registry_root: Path
    data_dir: Path
    tune_dir: Path
    submitted_at: datetime
    live_clock: bool
    options: TrainingOptions
    learning_rows: dict[str, int]  # strategy -> closed-trade rows staged under data_dir/learning

    def tune_name(self, strategy: str) -> str:
        return f"nightly_{strategy}_{self.session:%Y%m%d}"


@dataclass(frozen=True)
class StrategyOutcome:
    """What one strategy's retrain decided (plain data, returned through the object store)."""

    strategy: str
    version: str | None
    promoted: bool
    failed_gates: tuple[str, ...]
    oos_sharpe: float | None
    n_trials: int
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.strategy}: failed ({self.error})"
        if self.version is None:
            return f"{self.strategy}: {self.n_trials} trials, none completed, nothing registered"
        sharpe = "n/a" if self.oos_sharpe is None else f"{self.oos_sharpe:.2f}"
        verdict = "promoted" if self.promoted else f"not promoted (failed {', '.join(self.failed_gates)})"
        return f"{self.strategy}: {self.version} {verdict}, OOS Sharpe {sharpe}, {self.n_trials} trials"


@dataclass(frozen=True)
class RetrainHandle:
    """A submitted retrain: the plan, the Ray ``ObjectRef`` of its outcomes, the run detail."""

    plan: RetrainPlan
    ref: Any
    detail: str


def _one(plan: RetrainPlan, strategy: str, registry: ModelRegistry) -> StrategyOutcome:
    tune = replace(plan.options.tune, storage_path=plan.tune_dir, name=plan.tune_name(strategy), verbose=0)
    options = replace(plan.options, tune=tune, data_dir=plan.data_dir)
    out = train_and_promote(
        strategy, list(plan.symbols), plan.start, plan.session, options, registry, Console(quiet=True)
    )
    report = out.gate_report
    sharpe = out.oos_sharpe
    return StrategyOutcome(
        strategy,
        out.version.version if out.version else None,
        out.promoted,
        report.failed if report is not None else (),
        sharpe if math.isfinite(sharpe) else None,
        out.n_trials,
    )


def run_retrain(plan: RetrainPlan) -> list[StrategyOutcome]:
    """Train, gate, register and promote each strategy of ``plan`` (the body of the Ray task).

    A strategy that raises is reported with its error; the others still run.
    """
    clock: Clock = LiveClock() if plan.live_clock else SimClock(plan.submitted_at)
    registry = ModelRegistry(plan.registry_root, clock)
    outcomes = []
    for strategy in plan.strategies:
        try:
            outcomes.append(_one(plan, strategy, registry))
        except Exception as exc:
            outcomes.append(
                StrategyOutcome(strategy, None, False, (), None, 0, f"{type(exc).__name__}: {exc}")
            )
    return outcomes


@functools.cache
def _remote() -> Any:
    import ray

    return ray.remote(num_cpus=0, max_retries=0)(run_retrain)


def stage_learning_rows(ledger: Ledger, paths: DeskPaths, strategies: Sequence[str]) -> dict[str, int]:
    """Write the closed trades' training rows to ``data_dir/learning/training_rows.parquet``.

    Returns the row count per strategy (empty when the export is). The rows are staged for
    inspection and offline use; they are not mixed into the walk-forward folds (see
    docs/scheduling.md, "Desk tasks").
    """
    rows = learning_rows_for_training(export(ledger))
    if rows.height == 0:
        return {}
    target = paths.data_dir / LEARNING_ROWS
    target.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(target)
    counts = rows.group_by("strategy").len().rows()
    return {str(s): int(n) for s, n in counts if s in strategies}


def nightly_retrain(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    calendar: MarketCalendar,
    session: date,
    *,
    strategies: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    window_sessions: int = 60,
    options: TrainingOptions | None = None,
    ledger: Ledger | None = None,
) -> RetrainHandle:
    """Submit the retrain of ``session`` (the session just closed) as Ray work; returns at once.

    Window: the ``window_sessions`` sessions ending at ``session``. Strategies: the configured
    ones with a model. Symbols: the last universe refresh, else the configured ones. Options:
    ``TrainingOptions.from_settings`` (folds, gates, samples) reading bars from ``data_dir``,
    Tune runs under ``tune_dir/nightly_<strategy>_<YYYYMMDD>``. With ``ledger``, closed trades'
    learning rows are staged first (``stage_learning_rows``).
    """
    chosen = tuple(strategies if strategies is not None else trainable_strategies(settings))
    universe = list(symbols) if symbols is not None else (read_universe(paths) or list(settings.data.symbols))
    if options is None:
        options = TrainingOptions.from_settings(
            settings,
            seed=settings.data.seed,
            edge_enabled=settings.market.edge_enabled,
            tune=TuneOptions(storage_path=paths.tune_dir, verbose=0),
        )
    staged = stage_learning_rows(ledger, paths, chosen) if ledger is not None else {}
    plan = RetrainPlan(
        session=session,
        start=sessions_back(calendar, session, window_sessions)[0],
        strategies=chosen,
        symbols=tuple(sorted(universe)),
        registry_root=paths.registry_root,
        data_dir=paths.data_dir,
        tune_dir=paths.tune_dir,
        submitted_at=clock.now(),
        live_clock=isinstance(clock, LiveClock),
        options=options,
        learning_rows=staged,
    )
    ref = _remote().remote(plan)
    detail = (
        f"retrain submitted: {', '.join(chosen) or 'no strategies'} on {len(plan.symbols)} symbols, "
        f"{plan.start}..{session}, {options.tune.num_samples} samples"
    )
    if staged:
        detail += f"; learning rows staged: {', '.join(f'{s} {n}' for s, n in staged.items())}"
    return RetrainHandle(plan, ref, detail)


def retrain_ready(handle: RetrainHandle) -> bool:
    """Whether the retrain has finished (never blocks)."""
    import ray

    done, _ = ray.wait([handle.ref], timeout=0)
    return bool(done)


def collect_retrain(
    handle: RetrainHandle,
    timeout: float | None = None,
    *,
    ledger: Ledger | None = None,
    refresh: bool = True,
) -> str:
    """Wait for the retrain (at most ``timeout`` s), record it and hot-swap promoted models.

    With ``ledger`` a ``model.retrain`` event holds every strategy's outcome. After a
    promotion the running scoring app (if any) is reconfigured to the new versions.
    """
    import ray

    outcomes: list[StrategyOutcome] = ray.get(handle.ref, timeout=timeout)
    detail = "; ".join(o.line() for o in outcomes) or "nothing trained"
    if ledger is not None:
        payload = {
            "session": handle.plan.session.isoformat(),
            "outcomes": [
                {"strategy": o.strategy, "version": o.version, "promoted": o.promoted, "error": o.error}
                for o in outcomes
            ],
        }
        ledger.append_event("model.retrain", payload)
    if refresh and any(o.promoted for o in outcomes):
        from cluster.promotion import refresh_served

        detail += "; served: " + refresh_served().line()
    return detail


def drift_check(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    calendar: MarketCalendar,
    session: date,
    notifier: NotificationDispatcher,
    *,
    strategies: Sequence[str] | None = None,
    live_sessions: int = 20,
    options: TrainingOptions | None = None,
) -> tuple[str, RetrainHandle | None]:
    """The nightly model check's drift half (``training.drift``): each promoted model's live
    feature PSI and hit rate over the last ``live_sessions`` sessions against its training
    window; any drift raises one alert and submits a retrain of the drifted strategies."""
    from training.dataset import warmup_sessions
    from training.drift import DriftReport, check_promoted

    registry = ModelRegistry(paths.registry_root, clock)
    lines, drifted = [], []
    for strategy in strategies if strategies is not None else trainable_strategies(settings):
        live = sessions_back(calendar, session, live_sessions)
        warm = sessions_back(calendar, session, live_sessions + warmup_sessions(strategy))[0]
        try:
            report: DriftReport | None = check_promoted(
                registry, strategy, paths.data_dir, live[0], session, warm
            )
        except Exception as exc:  # one model's missing bars must not hide the others' drift
            lines.append(f"{strategy}: drift check failed ({type(exc).__name__}: {exc})")
            continue
        if report is not None:
            lines.append(report.line())
            if report.drifted:
                drifted.append(report)
    detail = "; ".join(lines) or "no promoted model to check"
    if not drifted:
        return detail, None
    notifier.notify(
        Notification(
            kind="alert",
            title=f"Model drift: {', '.join(r.strategy for r in drifted)}; retraining",
            body="\n".join(r.line() for r in drifted),
            ts=clock.now(),
            severity="warning",
            fields={r.strategy: r.line() for r in drifted},
        )
    )
    drifting = [r.strategy for r in drifted]
    handle = nightly_retrain(settings, paths, clock, calendar, session, strategies=drifting, options=options)
    return f"{detail}; {handle.detail}", handle
