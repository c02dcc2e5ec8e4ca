"""Pre-market tasks (08:30 ET): feature refresh, universe refresh, model check."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import polars as pl

from adapters.market.synthetic import daily_bars
from adapters.notify import NotificationDispatcher
from adapters.store import BarStore
from adapters.store.earnings import load_earnings
from adapters.store.universe import UNIVERSE_FILE, read_universe_file
from cluster.tasks.common import DeskPaths, merge_partition, session_of, sessions_back, write_json
from configs import Settings
from core.calendar import MarketCalendar
from core.clock import Clock
from core.errors import DataError
from core.features import intraday_features, swing_features, warmup_rows
from core.features.sessions import session_expr
from core.ports.notify import Notification
from training.model import ScoreModel
from training.registry import ModelRegistry

__all__ = [
    "UNIVERSE_FILE",
    "UniverseRules",
    "model_check",
    "premarket_features",
    "read_universe",
    "universe_refresh",
]


def _target_session(calendar: MarketCalendar, clock: Clock, session: date | None) -> date:
    """The session being prepared: ``session``, else today's (or the next one)."""
    if session is not None:
        return session
    today = session_of(clock.now())
    return today if calendar.is_session(today) else calendar.next_session(today)


def _features_for(
    store: BarStore, calendar: MarketCalendar, timeframe: str, symbols: list[str], day: date
) -> pl.DataFrame:
    if timeframe == "1d":
        first = sessions_back(calendar, day, warmup_rows("swing") + 1)[0]
        bars = store.read("1d", symbols, first, day)
        frame = swing_features(bars).with_columns(session_expr()) if bars.height else bars
    else:
        bars = store.read(timeframe, symbols, day, day)
        frame = intraday_features(bars) if bars.height else bars
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("session") == day)


def premarket_features(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    store: BarStore,
    calendar: MarketCalendar,
    session: date | None = None,
    timeframes: Sequence[str] = ("1m", "1d"),
) -> str:
    """Recompute the features of the previous session and store them; report missing bars.

    Features of the session before ``session`` (default: today's) for the configured symbols,
    for each of ``timeframes`` the store holds, go to
    ``data_dir/features/timeframe=<tf>/symbol=<s>/data.parquet`` (merged by ``ts``: a rerun
    replaces, never duplicates). Raises ``DataError`` when no bars at all are stored for it.
    """
    day = calendar.previous_session(_target_session(calendar, clock, session))
    symbols = list(settings.data.symbols)
    stored = set(store.timeframes())
    parts: list[str] = []
    missing: list[str] = []
    total = 0
    for tf in timeframes:
        if tf not in stored:
            missing.append(f"{tf}: no bars stored")
            continue
        rows = _features_for(store, calendar, tf, symbols, day)
        have = set(rows["symbol"].unique().to_list()) if rows.height else set()
        absent = sorted(set(symbols) - have)
        if absent:
            missing.append(f"{tf}: {', '.join(absent)}")
        if rows.height:
            merge_partition(paths.data_dir, "features", tf, rows)
        total += rows.height
        parts.append(f"{tf} {len(have)}/{len(symbols)} symbols, {rows.height} rows")
    if total == 0:
        raise DataError(f"no bars for {day}: {'; '.join(missing) or 'nothing stored'}")
    detail = f"features {day}: " + "; ".join(parts)
    return detail + (f"; missing {'; '.join(missing)}" if missing else "")


@dataclass(frozen=True)
class UniverseRules:
    """Liquidity filters over the last ``lookback_sessions`` daily bars.

    A symbol is kept when it has bars on at least ``min_sessions`` of them, its median daily
    dollar volume (close × volume) is at least ``min_median_dollar_volume`` and its last close
    lies in ``[min_price, max_price]``.
    """

    lookback_sessions: int = 20
    min_sessions: int = 15
    min_median_dollar_volume: float = 5_000_000.0
    min_price: float = 5.0
    max_price: float = 1_000.0


def _daily(store: BarStore, first: date, last: date) -> pl.DataFrame:
    stored = store.timeframes()
    if "1d" in stored:
        return store.read("1d", None, first, last)
    if "1m" in stored:
        return daily_bars(store.read("1m", None, first, last))
    return pl.DataFrame()


def _judge(bars: pl.DataFrame, rules: UniverseRules) -> tuple[dict[str, Any], str | None]:
    bars = bars.sort("ts")
    dollar = (bars["close"] * bars["volume"]).to_list()
    stats = {
        "sessions": bars.height,
        "median_dollar_volume": round(statistics.median(dollar), 2),
        "last_close": round(float(bars["close"][-1]), 4),
    }
    if bars.height < rules.min_sessions:
        return stats, f"{bars.height} sessions < {rules.min_sessions}"
    if stats["median_dollar_volume"] < rules.min_median_dollar_volume:
        return (
            stats,
            f"median dollar volume {stats['median_dollar_volume']:.0f} < {rules.min_median_dollar_volume:.0f}",
        )
    if not rules.min_price <= stats["last_close"] <= rules.max_price:
        return stats, f"price {stats['last_close']} outside [{rules.min_price}, {rules.max_price}]"
    return stats, None


def universe_refresh(
    settings: Settings,
    paths: DeskPaths,
    clock: Clock,
    store: BarStore,
    calendar: MarketCalendar,
    session: date | None = None,
    rules: UniverseRules | None = None,
) -> str:
    """Rebuild the trading universe from the stored bars and write ``state_dir/universe.json``.

    A symbol within ``data.earnings_blackout_sessions`` of its earnings (imported dates) is
    excluded for the session, with the reason; every candidate's ``days_to_earnings`` is kept.

    Candidates are the configured symbols plus every stored one; daily bars (aggregated from
    1-minute bars when no ``1d`` are stored) of the ``lookback_sessions`` before ``session``
    are judged by ``rules``. The file lists the kept symbols, the excluded ones with their
    reason, and each candidate's statistics.
    """
    rules = rules or UniverseRules()
    target = _target_session(calendar, clock, session)
    day = calendar.previous_session(target)
    window = sessions_back(calendar, day, rules.lookback_sessions)
    daily = _daily(store, window[0], day)
    candidates = sorted(
        set(settings.data.symbols) | set(daily["symbol"].unique().to_list() if daily.height else [])
    )
    kept: list[str] = []
    excluded: dict[str, str] = {}
    stats: dict[str, dict[str, Any]] = {}
    earnings = load_earnings(paths.data_dir)
    blackout_sessions = settings.data.earnings_blackout_sessions
    for symbol in candidates:
        bars = daily.filter(pl.col("symbol") == symbol) if daily.height else daily
        if bars.height == 0:
            excluded[symbol] = "no bars"
            continue
        stats[symbol], reason = _judge(bars, rules)
        stats[symbol]["days_to_earnings"] = earnings.days_to_earnings(symbol, target, calendar)
        reason = reason or earnings.blackout(symbol, target, blackout_sessions, calendar)
        if reason is None:
            kept.append(symbol)
        else:
            excluded[symbol] = reason
    payload = {
        "session": day.isoformat(),
        "for_session": target.isoformat(),
        "built_at": clock.now().isoformat(),
        "rules": asdict(rules),
        "symbols": kept,
        "excluded": excluded,
        "stats": stats,
    }
    write_json(paths.state_dir / UNIVERSE_FILE, payload)
    detail = f"universe after {day}: {len(kept)} of {len(candidates)} symbols"
    return detail + (f"; excluded {', '.join(f'{s} ({r})' for s, r in excluded.items())}" if excluded else "")


def read_universe(paths: DeskPaths) -> list[str] | None:
    """The symbols of the last universe refresh; ``None`` if there is none yet."""
    found = read_universe_file(paths.state_dir / UNIVERSE_FILE)
    return None if found is None else found[1]


def _check_one(
    registry: ModelRegistry, clock: Clock, strategy: str, max_age_days: float
) -> tuple[str, str | None]:
    """(status line, problem or None) for one strategy's promoted model."""
    model = registry.promoted(strategy)
    if model is None:
        return f"{strategy}: no promoted model", "no promoted model"
    try:
        ScoreModel.from_bytes(registry.load_artifact(model))
    except (OSError, ValueError, DataError) as exc:
        return f"{strategy} {model.version}: artifact not loadable", f"{model.version} not loadable: {exc}"
    age = (clock.now() - model.created_at).total_seconds() / 86_400
    line = f"{strategy} {model.version} ok, {age:.1f} days old"
    if age > max_age_days:
        return line, f"{model.version} is {age:.1f} days old (> {max_age_days:g})"
    return line, None


def model_check(
    registry: ModelRegistry,
    notifier: NotificationDispatcher,
    clock: Clock,
    strategies: Sequence[str],
    max_age_days: float = 7.0,
) -> str:
    """For each strategy: a promoted version, its artifact loadable (checksum and model), its age.

    Missing, unloadable or stale (trained more than ``max_age_days`` ago) models raise one
    desk-wide ``alert`` notification (the strategies then trade on their rules).
    """
    lines: list[str] = []
    problems: dict[str, str] = {}
    for strategy in strategies:
        line, problem = _check_one(registry, clock, strategy, max_age_days)
        lines.append(line)
        if problem is not None:
            problems[strategy] = problem
    if problems:
        notifier.notify(
            Notification(
                kind="alert",
                title=f"Model check: {len(problems)} of {len(strategies)} strategies need attention",
                body="\n".join(f"{s}: {p}" for s, p in problems.items()),
                ts=clock.now(),
                severity="warning",
                fields=problems,
            )
        )
    return "; ".join(lines) or "no strategies to check"
