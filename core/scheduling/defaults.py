"""The desk's default schedule: the seeds' cron tables, made calendar-aware (docs/scheduling.md)."""

from __future__ import annotations

from datetime import time, timedelta

from core.scheduling.tasks import (
    ACCOUNT,
    DESK,
    AtClock,
    AtSessionTime,
    Every,
    MissedRunPolicy,
    Nightly,
    SessionTime,
    TaskSpec,
    ValidUntil,
    Weekly,
)

__all__ = ["INTRADAY", "OPTIONS", "SWING", "default_schedule"]

INTRADAY = "intraday_mean_reversion"
SWING = "swing_trend_following"
OPTIONS = "trident"

_RUN_ONCE = MissedRunPolicy.RUN_ONCE
_SKIP = MissedRunPolicy.SKIP


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def default_schedule() -> list[TaskSpec]:
    """Every default task, in tie-break order (flatten before monitoring at the same instant)."""
    pre_market = AtClock(time(8, 30))
    return [
        TaskSpec(
            "pre_market.features", "feature_refresh", pre_market, DESK, _RUN_ONCE, ValidUntil.SESSION_CLOSE
        ),
        TaskSpec(
            "pre_market.universe", "universe_refresh", pre_market, DESK, _RUN_ONCE, ValidUntil.SESSION_CLOSE
        ),
        TaskSpec(
            "pre_market.model_check", "model_check", pre_market, DESK, _RUN_ONCE, ValidUntil.SESSION_CLOSE
        ),
        # The seed's 13:15/14:15 UTC are 08:15/09:15 ET in winter, before the open: anchor on it.
        TaskSpec(
            f"trade.{INTRADAY}.1", "trading_cycle", AtSessionTime("open", _minutes(15)), INTRADAY, _SKIP
        ),
        TaskSpec(
            f"trade.{INTRADAY}.2", "trading_cycle", AtSessionTime("open", _minutes(45)), INTRADAY, _SKIP
        ),
        TaskSpec(f"trade.{SWING}", "trading_cycle", AtSessionTime("open", _minutes(30)), SWING, _SKIP),
        TaskSpec(
            f"trade.{OPTIONS}",
            "options_cycle",
            Every(
                _minutes(15),
                SessionTime("open", _minutes(15)),
                time(14, 45),
                not_after=SessionTime("close", _minutes(-15)),
            ),
            OPTIONS,
            _SKIP,
        ),
        TaskSpec(
            "flatten.1",
            "flatten",
            AtSessionTime("close", _minutes(-30)),
            ACCOUNT,
            MissedRunPolicy.RUN_IF_STILL_OPEN,
        ),
        TaskSpec(
            "flatten.2",
            "flatten",
            AtSessionTime("close", _minutes(-10)),
            ACCOUNT,
            MissedRunPolicy.RUN_IF_STILL_OPEN,
        ),
        TaskSpec(
            "monitor",
            "monitor",
            Every(_minutes(10), SessionTime("open"), SessionTime("close")),
            ACCOUNT,
            _SKIP,
        ),
        TaskSpec(
            "snapshot.positions",
            "position_snapshot",
            AtSessionTime("close", _minutes(5)),
            ACCOUNT,
            _RUN_ONCE,
            ValidUntil.NEXT_OPEN,
        ),
        TaskSpec(
            "labels.complete", "label_completion", AtSessionTime("close", _minutes(90)), DESK, _RUN_ONCE
        ),
        TaskSpec(
            "health.check",
            "health_check",
            AtSessionTime("close", _minutes(105)),
            DESK,
            _RUN_ONCE,
            ValidUntil.NEXT_OPEN,
        ),
        TaskSpec("report.daily", "daily_report", AtSessionTime("close", _minutes(120)), DESK, _RUN_ONCE),
        # Seed 004 copies its database daily at 17:00 (an early close keeps the wall time).
        TaskSpec("backup.ledger", "backup", AtClock(time(17, 0)), DESK, _RUN_ONCE, ValidUntil.NEXT_OPEN),
        TaskSpec("nightly.retrain", "retrain", Nightly(time(2, 0)), DESK, _RUN_ONCE, ValidUntil.NEXT_OPEN),
        TaskSpec(
            "weekly.refresh", "weekly_refresh", Weekly(6, time(22, 0)), DESK, _RUN_ONCE, ValidUntil.NEXT_OPEN
        ),
    ]
