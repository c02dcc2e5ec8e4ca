"""The desk tasks as scheduler handlers, keyed by task name (they win over the by-kind ones).

``desk_handlers`` runs inside the scheduler actor's process: the supervisor hands the actor a
``functools.partial`` of it, so ``actors/`` never imports ``cluster/``. The nightly retrain is
submitted as Ray work; ``DeskHandlers.poll`` records each finished one without blocking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from adapters.ledger import SqliteLedger
from adapters.ledger.backup import backup
from adapters.ledger.postgres import open_ledger
from adapters.notify.setup import build_dispatcher_from_settings
from adapters.store import BarStore
from cluster.tasks.common import DeskPaths, trainable_strategies
from cluster.tasks.eod import complete_labels, health_check
from cluster.tasks.premarket import model_check, premarket_features, universe_refresh
from cluster.tasks.report import daily_report
from cluster.tasks.retrain import RetrainHandle, collect_retrain, nightly_retrain, retrain_ready
from cluster.tasks.weekly import weekly_refresh
from configs import Settings
from core.calendar import MarketCalendar
from core.clock import Clock
from core.scheduling import Handler, Occurrence, SkipTask
from training.registry import ModelRegistry

FanOut = Callable[[str, tuple[Any, ...]], Mapping[str, Any]]


@dataclass
class DeskHandlers:
    """Handlers by task name, and the nightly retrains still running."""

    handlers: dict[str, Handler]
    ledger: SqliteLedger
    pending: list[RetrainHandle] = field(default_factory=list)

    def poll(self) -> list[str]:
        """Record every finished retrain (a ``model.retrain`` ledger event); never blocks."""
        done = [h for h in self.pending if retrain_ready(h)]
        self.pending = [h for h in self.pending if h not in done]
        return [collect_retrain(h, ledger=self.ledger) for h in done]


def _session(occ: Occurrence) -> date:
    if occ.session is None:
        raise SkipTask("no session for this occurrence")
    return occ.session


def desk_handlers(settings: Settings, paths: DeskPaths, clock: Clock, fan_out: FanOut) -> DeskHandlers:
    """The desk tasks over the settings' stores, keyed by kind (see ``cluster.tasks``): a configured
    task runs the handler of its kind."""
    calendar = MarketCalendar()
    store = BarStore(paths.data_dir)
    ledger = open_ledger(settings.ledger.location, clock)
    registry = ModelRegistry(paths.registry_root, clock)
    notifier = build_dispatcher_from_settings(settings, clock, paths.state_dir)
    desk = DeskHandlers({}, ledger)

    def report(occ: Occurrence) -> str:
        accounts = fan_out("daily_report", (occ.due,))  # each account's own notice
        text = daily_report(settings, paths, clock, ledger, notifier, _session(occ))
        return f"{text}; {len(accounts)} account notice(s)"

    def backup_ledger(occ: Occurrence) -> str:
        if settings.ledger.url is not None:
            raise SkipTask("the PostgreSQL ledger is backed up by its database (pg_dump, replicas)")
        made = backup(
            Path(settings.ledger.path),
            paths.state_dir.parent / "backups",
            clock.now(),
            registry_root=paths.registry_root,
        )
        return f"backup {made.path.name}: {len(made.files)} files"

    def retrain(occ: Occurrence) -> str:
        handle = nightly_retrain(settings, paths, clock, calendar, _session(occ), ledger=ledger)
        desk.pending.append(handle)
        return handle.detail

    desk.handlers.update(
        {
            "feature_refresh": lambda o: premarket_features(
                settings, paths, clock, store, calendar, o.session
            ),
            "universe_refresh": lambda o: universe_refresh(
                settings, paths, clock, store, calendar, o.session
            ),
            "model_check": lambda o: model_check(
                registry, notifier, clock, trainable_strategies(settings)
            ),
            "label_completion": lambda o: complete_labels(settings, paths, store, calendar, _session(o)),
            "health_check": lambda o: health_check(
                settings, paths, clock, ledger, store, notifier, _session(o)
            ),
            "daily_report": report,
            "backup": backup_ledger,
            "retrain": retrain,
            "weekly_refresh": lambda o: weekly_refresh(settings, paths, clock, registry),
        }
    )
    return desk
