"""Trading metrics of a replayed session on the Prometheus scrape of a local Ray.

The ledger's events (orders, fills, denials, a fall-back) go through ``TradingMetrics`` into
``RayMetrics`` in a process running its own Ray with its own metrics export port; the scrape,
parsed by ``prometheus_client``, must count exactly the ledger's orders and fills.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.test_execution_service import ACCOUNT, make_desk
from tests.unit.test_notify import free_port

TIMEOUT_S = 90.0


def trade_a_session(tmp_path: Path) -> tuple[int, int]:
    desk = make_desk(tmp_path)
    for i in range(12):
        desk.execute(f"s{i}", qty=1)
        desk.clock.advance(timedelta(seconds=1))
        if i % 3:  # two in three fill at once, the rest with a later quote
            desk.quote("189.95", "190.02")
            desk.clock.advance(timedelta(seconds=1))
        desk.quote("190.00", "190.10")
        desk.service.process_events()
    desk.ledger.append_event("trading.score_fallback", {"strategy": "trident", "count": 1}, ACCOUNT)
    orders, fills = len(desk.ledger.orders(ACCOUNT)), len(desk.ledger.fills(ACCOUNT))
    desk.ledger.close()
    return orders, fills


def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "raydesk_" in sample.name:
                labels = tuple(
                    sorted((k, v) for k, v in sample.labels.items() if k in {"account", "side", "strategy"})
                )
                out.setdefault(sample.name, {})[labels] = sample.value
    return out


def test_replayed_session_metrics_equal_the_ledger(tmp_path: Path) -> None:
    orders, fills = trade_a_session(tmp_path)
    assert orders == 12 and fills > 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.metrics_replay", str(tmp_path / "ledger.db"), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "REFUSED"  # an order id is never a tag
        assert proc.stdout.readline().strip() == "READY"
        deadline, seen = time.monotonic() + TIMEOUT_S, {}
        while time.monotonic() < deadline:
            seen = scrape(port)
            if "ray_raydesk_fills_total" in seen and "ray_raydesk_scoring_fallbacks_total" in seen:
                break
            time.sleep(1.0)
        account = (("account", str(ACCOUNT)),)
        assert seen["ray_raydesk_orders_total"] == {account: float(orders)}
        assert seen["ray_raydesk_fills_total"] == {(("account", str(ACCOUNT)), ("side", "buy")): float(fills)}
        assert seen["ray_raydesk_scoring_fallbacks_total"] == {
            (("account", str(ACCOUNT)), ("strategy", "trident")): 1.0
        }
        assert not any("client_order_id" in name for name in seen)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(60)
