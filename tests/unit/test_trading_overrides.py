"""Overrides (pause, resume, flatten, halt, resume-all, delete), the EOD flatten and monitoring."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import redis

from core.execution import ExecutionOutcome
from core.model import OrderStatus, OrderType
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


def held(desk) -> dict[str, object]:
    return {str(p.instrument.id): p.net for p in desk.ledger.positions(ACCOUNT) if not p.is_flat}


def overrides(desk) -> list[dict[str, Any]]:
    return [e["payload"] for _, e in desk.events.read(count=10_000, kinds=["override"])]


def test_pause_blocks_entries_but_not_exits_and_resume_restores_them(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    strategy = ScriptedStrategy(
        {("SYNA", ts(20)): (None, None), ("SYNB", ts(30)): (None, None), ("SYNB", ts(40)): (None, None)},
        exits={("SYNA", ts(35))},
    )
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.service.start()
    for k in range(25):
        desk.minute(FRAMES[k])
    assert "SYNA" in held(desk)
    desk.inbox.push(ACCOUNT, {"cmd": "pause", "by": "ops", "reason": "lunch"})
    paused = [desk.minute(FRAMES[k]) for k in range(25, 37)]
    assert any("SYNB:long: paused" in s for c in paused for s in c.skipped)
    exits = [r.order for c in paused for r in c.results if r.order is not None]
    assert [(str(o.instrument.id), o.side.value, o.order_type) for o in exits] == [
        ("SYNA", "sell", OrderType.MARKET)
    ]
    assert held(desk) == {}
    assert desk.board.get_account_state(ACCOUNT)["status"] == "paused"  # type: ignore[index]
    assert desk.service.apply_command({"cmd": "resume", "by": "ops"}).accepted
    resumed = [desk.minute(FRAMES[k]) for k in range(37, 42)]
    assert sum(c.submitted for c in resumed) == 1 and "SYNB" in held(desk)
    assert [(p["cmd"], p["by"], p["accepted"]) for p in overrides(desk)] == [
        ("pause", "ops", True),
        ("resume", "ops", True),
    ]
    assert [e.payload["cmd"] for e in desk.ledger.events(account_id=ACCOUNT, kind="override")] == [
        "pause",
        "resume",
    ]


def test_halt_cancels_entry_orders_and_resume_all_lifts_it(tmp_path: Path, redis_client: redis.Redis) -> None:
    strategy = ScriptedStrategy(
        {("SYNA", ts(30)): (None, None), ("SYNB", ts(32)): (None, None), ("SYNB", ts(36)): (None, None)}
    )
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.service.start()
    for k in range(31):
        desk.minute(FRAMES[k])
    (working,) = desk.exchange.open_orders(ACCOUNT)
    result = desk.service.apply_command({"cmd": "kill", "by": "risk", "reason": "news"})
    assert result.accepted and result.state.halted and "1 entry orders cancelled" in result.detail
    assert desk.exchange.open_orders(ACCOUNT) == []
    assert desk.ledger.get_order(working.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    halted = [desk.minute(FRAMES[k]) for k in range(31, 34)]
    assert any("SYNB:long: halted" in s for c in halted for s in c.skipped)
    assert desk.board.get_account_state(ACCOUNT)["halt_reason"] == "news"  # type: ignore[index]
    desk.service.apply_command({"cmd": "resume-all", "by": "risk"})
    after = [desk.minute(FRAMES[k]) for k in range(34, 37)]
    assert sum(c.submitted for c in after) == 1
    # The halt survives a restart: control state is rebuilt from the ledger.
    desk.service.apply_command({"cmd": "halt", "by": "risk"})
    assert restart(desk, [strategy]).service.start().control.halted


def test_flatten_now_closes_everything_at_market(tmp_path: Path, redis_client: redis.Redis) -> None:
    strategy = ScriptedStrategy({("SYNA", ts(20)): (None, None), ("SYNB", ts(21)): (None, None)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.service.start()
    for k in range(24):
        desk.minute(FRAMES[k])
    assert set(held(desk)) == {"SYNA", "SYNB"}
    result = desk.service.apply_command({"cmd": "flatten", "by": "ops"})
    assert [r.outcome for r in result.results] == [ExecutionOutcome.SUBMITTED] * 2
    assert desk.service.flatten("again") == []  # exits already working: nothing is sent twice
    desk.minute(FRAMES[24])
    assert held(desk) == {}
    assert overrides(desk)[-1]["cmd"] == "flatten" and len(overrides(desk)[-1]["orders"]) == 2


def test_delete_closes_positions_then_purges_the_accounts_ledger_rows(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    strategy = ScriptedStrategy({("SYNA", ts(20)): (None, None)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.service.start()
    for k in range(23):
        desk.minute(FRAMES[k])
    refused = desk.service.apply_command({"cmd": "delete", "by": "ops"})
    assert not refused.accepted and "confirm" in refused.detail
    result = desk.service.apply_command({"cmd": "delete", "by": "ops", "confirm": str(ACCOUNT)})
    assert result.accepted and len(result.results) == 1 and result.state.deleting
    assert desk.ledger.orders(ACCOUNT)  # still open: the exit has not filled yet
    cycle = desk.minute(FRAMES[23])  # the exit fills; the account is flat, so it is purged
    assert cycle.status == "deleting" and desk.service.control.deleted
    assert desk.ledger.orders(ACCOUNT) == [] and desk.ledger.fills(ACCOUNT) == []
    assert desk.ledger.events(account_id=ACCOUNT) == []
    assert desk.board.get_account_state(ACCOUNT)["status"] == "deleted"  # type: ignore[index]
    assert overrides(desk)[-1]["phase"] == "purged"
    assert desk.minute(FRAMES[24]).status == "deleted"
    assert restart(desk, [strategy]).service.start().control.deleted


def test_eod_flatten_honours_the_early_close(tmp_path: Path, redis_client: redis.Redis) -> None:
    day = date(2025, 11, 28)  # the day after Thanksgiving: the close is 13:00 ET (18:00 UTC)
    frames = minutes(session_bars(("SYNA",), day=day))
    assert frames[-1]["ts"][0].hour == 17 and frames[-1]["ts"][0].minute == 59
    k_entry = next(i for i, f in enumerate(frames) if f["ts"][0].hour == 17 and f["ts"][0].minute == 0)
    strategy = ScriptedStrategy(
        {("SYNA", frames[k_entry]["ts"][0]): (None, None), ("SYNA", frames[-5]["ts"][0]): (None, None)}
    )
    config = AccountRuntimeConfig(entry_ttl=None, flatten_minutes_before_close=10)
    desk = make_desk(
        tmp_path, redis_client, [strategy], config, start=frames[0]["ts"][0] - timedelta(minutes=5)
    )
    desk.service.start()
    flattened_at = None
    for frame in frames:
        desk.minute(frame)
        now = desk.clock.now()
        if desk.service.should_flatten(now):
            assert flattened_at is None or held(desk) or desk.ledger.orders(ACCOUNT, [OrderStatus.ACCEPTED])
            flattened_at = flattened_at or now
            desk.service.flatten("eod")
    assert flattened_at is not None and (flattened_at.hour, flattened_at.minute) == (17, 50)
    assert held(desk) == {}
    late = desk.reports[-5]
    assert any("after the flatten cut-off" in s for s in late.skipped)
    assert not desk.service.should_flatten(flattened_at.replace(day=26))  # a regular day: 12:50 ET


def test_monitoring_exits_at_the_stop_and_recycles_the_freed_capital(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    frames = FRAMES
    bid = {k: float(frames[k].filter(pl.col("symbol") == "SYNA")["bid"][0]) for k in range(len(frames))}
    k0 = 30
    k_stop = min(range(k0 + 2, k0 + 120), key=lambda k: bid[k])  # the lowest bid ahead
    stop = bid[k_stop] + 0.005
    assert stop < bid[k0]
    strategy = ScriptedStrategy({("SYNA", ts(k0)): (stop, None), ("SYNB", ts(k_stop)): (None, None)})
    config = AccountRuntimeConfig(entry_ttl=None, max_positions=1)
    desk = make_desk(tmp_path, redis_client, [strategy], config)
    desk.service.start()
    for k in range(k_stop + 1):
        cycle = desk.minute(frames[k])
    assert "SYNA" in held(desk)
    assert any("SYNB" in s for s in cycle.skipped) or cycle.denied == 1  # no free slot yet
    assert desk.service.monitor_due(desk.clock.now())
    (exit_result,) = desk.service.monitor(desk.clock.now())
    assert exit_result.outcome is ExecutionOutcome.SUBMITTED and "stop" in exit_result.reason
    assert exit_result.order is not None and exit_result.order.order_type is OrderType.MARKET
    assert not desk.service.monitor_due(desk.clock.now() + timedelta(minutes=9))
    desk.feed(frames[k_stop + 1])  # the exit fills before the next cycle
    recycled = desk.service.monitor(desk.clock.now())
    assert [str(r.order.instrument.id) for r in recycled if r.order is not None] == ["SYNB"]
    assert "SYNA" not in held(desk)


def test_monitoring_takes_the_target(tmp_path: Path, redis_client: redis.Redis) -> None:
    bid = {k: float(FRAMES[k].filter(pl.col("symbol") == "SYNB")["bid"][0]) for k in range(len(FRAMES))}
    k0 = 30
    k_top = max(range(k0 + 2, k0 + 120), key=lambda k: bid[k])
    target = bid[k_top] - 0.005
    strategy = ScriptedStrategy({("SYNB", ts(k0)): (bid[k0] * 0.97, target)})
    desk = make_desk(tmp_path, redis_client, [strategy], CONFIG)
    desk.service.start()
    for k in range(k_top + 1):
        desk.minute(FRAMES[k])
    (result,) = desk.service.monitor(desk.clock.now())
    assert "target" in result.reason
    desk.minute(FRAMES[k_top + 1])
    assert held(desk) == {}
