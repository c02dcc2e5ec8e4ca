"""Replays a ledger's events through ``TradingMetrics`` into ``RayMetrics`` on a local Ray of its
own (``python -m tests.integration.metrics_replay LEDGER METRICS_PORT``).

It prints ``REFUSED`` once an update tagged with an order id was refused, then ``READY`` when
every event was fed, and keeps Ray up until its stdin closes, so a parent can scrape the
metrics export port.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from adapters.ledger import SqliteLedger
from core.clock import SimClock
from core.errors import InvalidValue
from core.messages import LedgerRecorded
from core.metrics import TradingMetrics


def main(ledger_path: Path, port: int) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from adapters.metrics.ray_metrics import RayMetrics

    ray.init(
        num_cpus=1,
        include_dashboard=False,
        namespace="raydesk-metrics-test",
        log_to_driver=False,
        configure_logging=False,
        _metrics_export_port=port,
        _system_config={"metrics_report_interval_ms": 500},
    )
    try:
        backend = RayMetrics()
        try:
            backend.inc("raydesk_orders", 1, {"account": "a", "client_order_id": "c-1"})
        except InvalidValue:
            print("REFUSED", flush=True)
        metrics = TradingMetrics(backend)
        ledger = SqliteLedger(ledger_path, SimClock(datetime(2000, 1, 1, tzinfo=UTC)))
        after = 0
        while batch := ledger.events(after_seq=after, limit=1000):
            for e in batch:
                if e.account_id is not None:
                    metrics.on_recorded(LedgerRecorded(e.account_id, e.seq, e.ts, e.kind, e.payload))
            after = batch[-1].seq
        ledger.close()
        print("READY", flush=True)
        sys.stdin.read()  # until the parent is done scraping
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
