"""An options account on the desk's actors: Trident entries, learning snapshots, an exit, alerts.

Two consecutive sessions (Tue 2024-11-19, Wed 2024-11-20) of one synthetic underlying are
replayed through an options account (``trident``) with the demo's short-dated setting
(``OptionsSpec.demo()``: 6 days out, closed at 2 days to expiry). Tuesday's Trident takes
the Friday expiry (3 days), is open at the close (daily snapshot) and is closed on Wednesday by
the days-to-expiry rule (exit snapshot). (The exit order holds Wednesday's once-per-day guard
of the strategy, so Wednesday opens no new Trident.) The entry offset is wider than the spread, so the
limit is the natural credit and the combination fills on the next quote at natural ≥ limit.

Notifications: a local webhook server (127.0.0.1, a free port) receives the fill
notifications of the actor path; with the server down the same replay trades just the same.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from actors import NAMESPACE
from adapters.cache import EmbeddedRedis
from adapters.ledger import SqliteLedger
from adapters.market.synthetic import SessionGrid, SyntheticMarketConfig, daily_bars, simulate_symbol
from adapters.store import BarStore
from cluster.replay import ReplayResult, replay_session
from configs import Settings, load_settings
from configs.notifications import NotificationsConfig, WebhookChannel
from core.learning import stats
from core.model import AccountId, OrderStatus, PriceEffect
from core.ports.ledger import SnapshotKind
from core.trading.options import OptionsSpec

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]

SYMBOLS = ("SYNA",)
SESSIONS = (date(2024, 11, 19), date(2024, 11, 20))
HISTORY_START = date(2024, 11, 12)
ACCOUNT = "options"
ACCOUNTS = [{"id": ACCOUNT, "broker": "sim", "strategies": ["trident"], "entry_offset_cents": 500}]


def webhook(url: str) -> NotificationsConfig:
    """One webhook channel, one quick retry: a notification is not worth more to a replay."""
    return NotificationsConfig(
        webhooks=[WebhookChannel(url=SecretStr(url))], retries=1, backoff_seconds=0.2, budget_seconds=3.0
    )


def settings_for(root: Path, name: str) -> Settings:
    return load_settings(
        "test",
        env={},
        overrides={
            "data": {
                "data_dir": str(root / "data"),
                "symbols": list(SYMBOLS),
                "start": str(HISTORY_START),
                "end": str(SESSIONS[-1]),
            },
            "ledger": {"path": str(root / name / "ledger.sqlite3")},
            "accounts": ACCOUNTS,
        },
    )


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@dataclass
class Env:
    root: Path
    redis: EmbeddedRedis

    def replay(self, name: str, notify: NotificationsConfig | None = None) -> list[ReplayResult]:
        """Both sessions into a fresh ledger and venue under ``root/name`` (actors restart between)."""
        settings = settings_for(self.root, name)
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            client.flushall()  # a fresh desk: no state board or quotes of another replay
        finally:
            client.close()
        return [
            replay_session(
                settings,
                day,
                state_dir=self.root / name / "state",
                redis_url=self.redis.url,
                options=OptionsSpec.demo(),
                notify=notify,
            )
            for day in SESSIONS
        ]

    def ledger(self, name: str) -> SqliteLedger:
        return SqliteLedger(self.root / name / "ledger.sqlite3")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, ray_session: Any) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("options")
    store = BarStore(root / "data")
    config = SyntheticMarketConfig(seed=7, symbols=SYMBOLS, start=HISTORY_START, end=SESSIONS[-1])
    grid = SessionGrid.build(config.start, config.end)
    for symbol in SYMBOLS:
        minute = simulate_symbol(config, symbol, grid).bars
        store.write(minute, "1m")
        store.write(daily_bars(minute), "1d")
    redis = EmbeddedRedis(root / "redis" / "r.rdb", port=0).start()
    try:
        yield Env(root, redis)
    finally:
        for entry in ray_session.util.list_named_actors(all_namespaces=True):
            if entry["namespace"] == NAMESPACE:
                with contextlib.suppress(ValueError):
                    ray_session.kill(
                        ray_session.get_actor(entry["name"], namespace=NAMESPACE), no_restart=True
                    )
        redis.stop()


@pytest.fixture(scope="module")
def hook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/raydesk-test"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def session(env: Env, hook: str) -> list[ReplayResult]:
    return env.replay("live-hook", webhook(hook))


def test_trident_entry_fills_as_one_four_leg_combination_at_natural(
    env: Env, session: list[ReplayResult]
) -> None:
    ledger = env.ledger("live-hook")
    try:
        orders = ledger.orders(AccountId(ACCOUNT))
        entries = [o for o in orders if o.price_effect is PriceEffect.CREDIT]
        assert entries, "no Trident entry"
        first = entries[0]
        assert first.status is OrderStatus.FILLED and len(first.legs) == 4
        assert sorted(g.ratio for g in first.legs) == [1, 1, 2, 2]
        assert first.avg_fill_price is not None and first.limit_price is not None
        assert first.avg_fill_price >= first.limit_price  # a credit fills at natural ≥ limit
        fills = [f for f in ledger.fills(AccountId(ACCOUNT)) if f.client_order_id == first.client_order_id]
        assert sorted(f.quantity.value for f in fills) == [1, 1, 2, 2]
        assert all(str(f.fill_id).startswith(f"{ACCOUNT}:SIM-F") for f in fills)
    finally:
        ledger.close()
    for result in session:
        acct = result.accounts[ACCOUNT]
        assert acct.lost_fills == [] and acct.unknown_orders == []
        assert acct.ledger_positions == acct.venue_positions


def test_daily_snapshots_at_the_close_and_an_exit(env: Env, session: list[ReplayResult]) -> None:
    ledger = env.ledger("live-hook")
    try:
        account = AccountId(ACCOUNT)
        daily = ledger.snapshots(account, SnapshotKind.DAILY)
        exits = ledger.snapshots(account, SnapshotKind.EXIT)
        learning = stats(ledger, ACCOUNT)
        debit = [o for o in ledger.orders(account) if o.price_effect is PriceEffect.DEBIT]
    finally:
        ledger.close()
    assert {s.ts.date() for s in daily} >= {SESSIONS[0]}, "no daily snapshot at Tuesday's close"
    assert all(s.ts.hour == 21 and s.ts.minute == 5 for s in daily)  # close + 5 (16:05 New York)
    assert exits, "no exit snapshot"
    assert exits[0].ts.date() == SESSIONS[1] and exits[0].payload["realized_pnl"] is not None
    assert daily[0].payload["trade_id"] == exits[0].payload["trade_id"]
    assert daily[0].payload["pnl"] is not None and daily[0].payload["dte"] == 3
    # The closing combination: every leg reversed, a debit, filled at natural <= limit.
    assert debit and debit[0].status is OrderStatus.FILLED and len(debit[0].legs) == 4
    assert debit[0].avg_fill_price is not None and debit[0].limit_price is not None
    assert debit[0].avg_fill_price <= debit[0].limit_price
    assert learning.entry_snapshots >= 1 and learning.complete >= 1 and learning.orphan_exits == 0
    runs = [r for result in session for r in result.task_runs if r.task == "snapshot.positions"]
    assert [r.status for r in runs] == ["ok", "ok"]


def test_the_webhook_receives_fill_notifications(session: list[ReplayResult]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("fill" in json.dumps(m) for m in Hook.received):
        time.sleep(0.1)
    texts = [m["text"] for m in Hook.received]
    assert any(f"{ACCOUNT}: " in t and "SYNA24" in t and " @ " in t for t in texts), texts[:5]
    assert any("daily report" in t for t in texts)


def test_a_down_webhook_does_not_stop_trading(env: Env, session: list[ReplayResult]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    down = env.replay(
        "down-hook", webhook(f"http://127.0.0.1:{port}/hooks/down")
    )
    for up, dead in zip(session, down, strict=True):
        a, b = up.accounts[ACCOUNT], dead.accounts[ACCOUNT]
        assert sorted(a.venue_orders) == sorted(b.venue_orders)
        assert len(a.venue_fills) == len(b.venue_fills) and b.lost_fills == []
    assert Decimal(down[-1].accounts[ACCOUNT].equity) == Decimal(session[-1].accounts[ACCOUNT].equity)
