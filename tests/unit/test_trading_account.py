"""AccountService: recovery after a crash, the scorer and its fallback, stale quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import pytest
import redis

from core.errors import TemporaryError
from core.execution import ExecutionOutcome
from core.model import OrderStatus
from core.ports.scorer import Scores
from core.trading import AccountRuntimeConfig
from tests.unit.test_trading_support import (
    ACCOUNT,
    ScriptedStrategy,
    make_desk,
    minutes,
    redis_client,
    restart,
    session_bars,
)

__all__ = ["redis_client"]
FRAMES = minutes(session_bars(("SYNA", "SYNB")))
CONFIG = AccountRuntimeConfig(entry_ttl=None)


def ts(k: int):
    return FRAMES[k]["ts"][0]


def only(symbol: str, k: int) -> pl.DataFrame:
    return FRAMES[k].filter(pl.col("symbol") == symbol)


# -- recovery -----------------------------------------------------------------------------------
def test_restart_adopts_fills_missed_while_down_and_sends_nothing_twice(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    strategy = ScriptedStrategy({("SYNA", ts(30)): (None, None)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    report = desk.service.start()
    assert report.ready and not report.blocked and report.positions == 0
    for k in range(31):
        cycle = desk.minute(FRAMES[k])
    assert cycle.submitted == 1 and len(desk.venue_orders()) == 1
    # The process dies: the venue keeps trading and the events in flight are lost with it.
    for k in range(31, 34):
        desk.feed(FRAMES[k])
    lost = desk.exchange.poll_events(ACCOUNT)
    assert any(type(e).__name__ == "OrderFilled" for e in lost)
    assert all(p.is_flat for p in desk.ledger.positions(ACCOUNT))

    again = restart(desk, [strategy])
    recovery = again.service.start()
    assert recovery.ready and recovery.can_trade
    assert recovery.reconcile is not None and recovery.reconcile.fills_recorded >= 1
    assert recovery.positions == 1 and recovery.protections == 1
    (position,) = [p for p in again.ledger.positions(ACCOUNT) if not p.is_flat]
    assert position.net == desk.exchange.positions(ACCOUNT)[0].net
    state = again.board.get_account_state(ACCOUNT)
    assert state is not None and state["positions"][0]["stop"] is not None  # protections rebuilt

    # The restarted actor warms up from history and sees the entry bar again: no second order.
    again.service.warm_up(pl.concat(FRAMES[:30]))
    replay = again.service.on_bars(FRAMES[30])
    assert replay.submitted == 0 and any("already positioned" in s for s in replay.skipped)
    assert len(again.venue_orders()) == 1
    assert "reconcile" in again.event_kinds()


def test_a_reconciliation_failure_refuses_to_trade_until_the_broker_is_back(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    strategy = ScriptedStrategy({("SYNA", ts(30)): (None, None), ("SYNA", ts(33)): (None, None)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.exchange.faults.disconnect()
    report = desk.service.start()
    assert not report.ready and "reconciliation failed" in report.error
    for k in range(31):
        cycle = desk.minute(FRAMES[k])
    assert cycle.status == "not_ready" and desk.exchange.open_orders(ACCOUNT) == []
    desk.exchange.faults.reconnect()
    for k in range(31, 34):
        cycle = desk.minute(FRAMES[k])  # the retry (once a minute of clock time) succeeds
    assert desk.service.ready and cycle.submitted == 1


# -- the scorer ---------------------------------------------------------------------------------
class DownScorer:
    """The Serve endpoint is unreachable."""

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        raise TemporaryError("serve: connection refused")


class ZScoreScorer:
    """A deterministic model: buys what is stretched down (score = -zscore)."""

    def __init__(self) -> None:
        self.rows: list[Mapping[str, float]] = []

    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        self.rows += rows
        return Scores(strategy, "v3", tuple(-r["zscore"] for r in rows), tuple(rows[0]))


def test_scorer_failure_falls_back_to_the_rules_and_is_recorded(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    strategy = ScriptedStrategy({("SYNA", ts(30)): (None, None)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG, scorer=DownScorer())
    desk.service.start()
    for k in range(31):
        cycle = desk.minute(FRAMES[k])
    assert cycle.submitted == 1 and cycle.fallbacks == ("scripted",)
    alerts = [e for _, e in desk.events.read(count=1000, kinds=["alert"])]
    assert [a["payload"]["alert"] for a in alerts] == ["score_fallback"]
    assert "serve: connection refused" in alerts[0]["payload"]["error"]
    state = desk.board.get_account_state(ACCOUNT)
    assert state is not None and state["fallbacks"] == {"scripted": 1} and state["fallback_total"] == 1


def test_scores_gate_entries_and_the_model_version_is_reported(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    entries = {(s, ts(k)): (None, None) for s in ("SYNA", "SYNB") for k in (30, 40)}
    scorer = ZScoreScorer()
    desk = make_desk(tmp_path, redis_client, [ScriptedStrategy(entries)], CONFIG, scorer=scorer)
    desk.service.start()
    cycles = [desk.minute(FRAMES[k]) for k in range(41)]
    scored = [c for c in cycles if c.model_versions]
    assert [c.model_versions for c in scored] == [{"scripted": "v3"}] * len(scored) and scored
    assert len(scorer.rows) >= 2 and set(scorer.rows[0]) >= {"zscore", "rsi", "atr"}
    # Entries are gated before scoring: every scored row is either taken or vetoed.
    vetoed = [s for c in cycles for s in c.skipped if "model score" in s]
    taken = sum(c.submitted for c in cycles)
    assert taken == sum(1 for r in scorer.rows if -r["zscore"] > 0) >= 1
    assert len(vetoed) == sum(1 for r in scorer.rows if not -r["zscore"] > 0) >= 1
    state = desk.board.get_account_state(ACCOUNT)
    assert (
        state is not None and state["model_versions"] == {"scripted": "v3"} and state["fallback_total"] == 0
    )


# -- stale quotes -------------------------------------------------------------------------------
def test_stale_quotes_deny_entries_until_quotes_return(tmp_path: Path, redis_client: redis.Redis) -> None:
    entries = {("SYNA", ts(30)): (None, None), ("SYNB", ts(33)): (None, None)}
    desk = make_desk(tmp_path, redis_client, [ScriptedStrategy(entries)], CONFIG)
    desk.service.start()
    for k in range(29):
        desk.minute(FRAMES[k])
    desk.minute(FRAMES[29], quotes=False)
    stale = desk.minute(FRAMES[30], quotes=False)  # the last quote is 120 s old
    assert stale.submitted == 0 and stale.denied == 1
    assert "stale" in stale.results[0].reason or "old" in stale.results[0].reason
    (denial,) = desk.ledger.denials(ACCOUNT)
    assert denial.rule == "stale_quote"
    events = [e for _, e in desk.events.read(count=1000, kinds=["denial"])]
    assert [e["payload"]["rule"] for e in events] == ["stale_quote"]
    for k in range(31, 34):
        fresh = desk.minute(FRAMES[k])
    assert fresh.submitted == 1 and fresh.results[0].outcome is ExecutionOutcome.SUBMITTED
    assert desk.ledger.orders(ACCOUNT)[0].status is not OrderStatus.REJECTED


@pytest.mark.parametrize("automation", [False])
def test_without_automation_entries_are_suggestions_only(
    tmp_path: Path, redis_client: redis.Redis, automation: bool
) -> None:
    config = AccountRuntimeConfig(entry_ttl=None, automation_enabled=automation)
    desk = make_desk(tmp_path, redis_client, [ScriptedStrategy({("SYNA", ts(30)): (None, None)})], config)
    desk.service.start()
    for k in range(31):
        desk.minute(FRAMES[k])
    assert desk.venue_orders() == []
    (suggestion,) = [e for _, e in desk.events.read(count=1000, kinds=["suggestion"])]
    assert suggestion["payload"]["symbol"] == "SYNA" and int(suggestion["payload"]["quantity"]) > 0
    assert desk.board.get_account_state(ACCOUNT)["status"] == "suggesting"  # type: ignore[index]
