"""A replayed session: orders, fills, determinism, recovery after a crash, latency."""

from __future__ import annotations

from pathlib import Path

import redis

from core.strategies import SmaCross
from core.trading import AccountRuntimeConfig
from tests.unit.test_trading_support import (
    ACCOUNT,
    equity,
    make_desk,
    minutes,
    redis_client,
    session_bars,
)

__all__ = ["redis_client"]
SYMBOLS = ("SYNA", "SYNB", "SYNC")
CONFIG = AccountRuntimeConfig(max_positions=3, entry_ttl=None)


def replay(
    root: Path, client: redis.Redis
) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str]], str]:
    desk = make_desk(root, client, [SmaCross(fast=5, slow=20)], CONFIG)
    assert desk.service.start().can_trade
    for frame in minutes(session_bars(SYMBOLS)):
        desk.minute(frame)
        desk.service.tick()
    orders = [
        (str(o.client_order_id), str(o.instrument.id), o.side.value, str(o.quantity.value))
        for o in desk.ledger.orders(ACCOUNT)
    ]
    fills = [(str(f.fill_id), str(f.instrument.id), str(f.price.value)) for f in desk.ledger.fills(ACCOUNT)]
    return orders, fills, str(equity(desk))


def test_a_replayed_session_trades_and_is_deterministic(tmp_path: Path, redis_client: redis.Redis) -> None:
    first = replay(tmp_path / "a", redis_client)
    second = replay(tmp_path / "b", redis_client)
    orders, fills, _ = first
    assert len(orders) >= 4 and len(fills) >= 4
    assert first == second


def test_session_ends_flat_with_events_state_and_latency(tmp_path: Path, redis_client: redis.Redis) -> None:
    desk = make_desk(tmp_path, redis_client, [SmaCross(fast=5, slow=20)], CONFIG)
    desk.service.start()
    for frame in minutes(session_bars(SYMBOLS)):
        desk.minute(frame)
        desk.service.tick()
    assert all(p.is_flat for p in desk.ledger.positions(ACCOUNT))
    assert desk.client.open_orders() == []
    kinds = set(desk.event_kinds())
    assert {"order", "fill", "reconcile", "system"} <= kinds
    state = desk.board.get_account_state(ACCOUNT)
    assert state is not None and state["status"] == "trading" and state["positions"] == []
    latency = state["latency"]["bar_to_submit"]
    submitted = sum(r.submitted for r in desk.reports)
    assert latency["total"] == sum(len(r.latency_ms) for r in desk.reports) > 0
    assert submitted >= latency["total"]
    print(f"\nbar event -> order submitted: {latency}; cycle: {state['latency']['cycle']}")
