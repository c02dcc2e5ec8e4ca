"""The desk tasks of the default schedule, as plain functions the ``SchedulerActor`` calls.

Each takes its dependencies explicitly and returns the text of its run record; see
docs/scheduling.md, "Desk tasks".
"""

from cluster.tasks.common import INTRADAY_STRATEGIES, DeskPaths, last_session, trainable_strategies
from cluster.tasks.eod import LabelSpec, complete_labels, health_check
from cluster.tasks.premarket import (
    UniverseRules,
    model_check,
    premarket_features,
    read_universe,
    universe_refresh,
)
from cluster.tasks.report import daily_report
from cluster.tasks.retrain import (
    RetrainHandle,
    RetrainPlan,
    StrategyOutcome,
    collect_retrain,
    nightly_retrain,
    retrain_ready,
    run_retrain,
)
from cluster.tasks.weekly import weekly_refresh

__all__ = [
    "INTRADAY_STRATEGIES",
    "DeskPaths",
    "LabelSpec",
    "RetrainHandle",
    "RetrainPlan",
    "StrategyOutcome",
    "UniverseRules",
    "collect_retrain",
    "complete_labels",
    "daily_report",
    "health_check",
    "last_session",
    "model_check",
    "nightly_retrain",
    "premarket_features",
    "read_universe",
    "retrain_ready",
    "run_retrain",
    "trainable_strategies",
    "universe_refresh",
    "weekly_refresh",
]
