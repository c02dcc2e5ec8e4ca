"""The account kernel without Ray: wiring, event handling, the cursor, fault injection."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
from pydantic import SecretStr

from adapters.account.spec import AccountSpec, core_risk_limits, runtime_config
from adapters.account.wiring import open_kernel
from adapters.brokers.sim.faults import CrashAfterSubmits
from adapters.cache import EmbeddedRedis, RedisCommandInbox, RedisQuoteCache, client_from_url
from adapters.ledger.cursor import FileCursor
from adapters.market.session import SessionBars
from adapters.market.synthetic import SessionGrid, SyntheticMarketConfig, daily_bars, simulate_symbol
from adapters.store import BarStore
from configs.accounts import AccountConfig, RiskLimits
from configs.notifications import NotificationsConfig, WebhookChannel
from core.calendar import MarketCalendar
from core.clock import SimClock
from core.errors import ConfigError
from core.messages import BarEvent, BarProcessed, FillsRecorded, LedgerRecorded, event_seq, seq_instant
from core.model import AccountId, Money
from core.ports.ledger import SnapshotKind
from core.scheduling import Occurrence, SkipTask, default_schedule
from core.trading.schedule import account_handlers

SYMBOLS = ("SYNA", "SYNB")
SESSION = date(2024, 11, 29)
RISK = RiskLimits(max_risk_per_trade=Decimal(1000), max_exposure_per_symbol=Decimal(50000))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bars")
    store = BarStore(root)
    config = SyntheticMarketConfig(seed=7, symbols=SYMBOLS, start=date(2024, 11, 20), end=SESSION)
    grid = SessionGrid.build(config.start, config.end)
    for symbol in SYMBOLS:
        minute = simulate_symbol(config, symbol, grid).bars
        store.write(minute, "1m")
        store.write(daily_bars(minute), "1d")
    return root


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis") / "r.rdb") as server:
        yield server.url


def _spec(tmp: Path, data_dir: Path, redis_url: str, **kw: Any) -> AccountSpec:
    account = AccountConfig(id="alpha", broker="sim", strategies=["sma_cross"], risk=RISK)
    open_, _ = MarketCalendar().session_open_close(SESSION)
    return AccountSpec(
        account,
        tmp / "ledger.sqlite3",
        tmp / "state",
        redis_url,
        data_dir=data_dir,
        symbols=SYMBOLS,
        start=open_,
        **kw,
    )


def _replay(host: Any, bars: SessionBars, quotes: RedisQuoteCache, instants: list[datetime]) -> None:
    for at in instants:
        event = bars.minute(at)
        assert event is not None
        quotes.put_many(event.quotes)
        host.on_bars(event)


def test_mappings() -> None:
    limits = core_risk_limits(RISK)
    assert limits.max_risk_per_trade == Money(1000) and limits.stale_quote_seconds == 30.0
    account = AccountConfig(id="swing", broker="sim", strategies=["swing_trend_following"])
    config = runtime_config(AccountSpec(account, Path("l"), Path("s"), "redis://x"))
    assert config.timeframe_of("swing_trend_following") == "1d" and not config.intraday


def test_a_broker_without_an_adapter_is_refused_naming_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.brokers import factory

    monkeypatch.setitem(factory.FACTORY_MODULES, "alpaca", "adapters.brokers.nowhere.factory")
    account = AccountConfig(id="live", broker="alpaca", strategies=["sma_cross"])
    with pytest.raises(ConfigError, match=r"accounts\.live\.broker: the alpaca adapter is not available"):
        open_kernel(AccountSpec(account, tmp_path / "l", tmp_path / "s", "redis://127.0.0.1:1/0"))
    with pytest.raises(ConfigError, match=r"accounts\.live\.broker"):
        factory.check_broker(account)


def test_event_seq_round_trips() -> None:
    at = datetime(2024, 11, 29, 14, 31, tzinfo=UTC)
    assert seq_instant(event_seq(at)) == at
    assert event_seq(at + timedelta(minutes=1)) > event_seq(at)


def test_cursor_is_durable(tmp_path: Path) -> None:
    event = BarEvent.of(datetime(2024, 11, 29, 14, 31, tzinfo=UTC), "1m", pl.DataFrame())
    cursor = FileCursor(tmp_path / "cursor.json")
    assert not cursor.seen(event)
    cursor.mark(event)
    assert not FileCursor(tmp_path / "cursor.json").seen(event), "durable only once saved"
    cursor.save()
    assert FileCursor(tmp_path / "cursor.json").seen(event)


def test_host_trades_once_per_event_and_restarts_where_it_stopped(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    bars = SessionBars(BarStore(data_dir), SESSION, SYMBOLS)
    instants = bars.instants
    quotes = RedisQuoteCache(client_from_url(redis_url), SimClock(instants[0]))
    host = open_kernel(_spec(tmp_path, data_dir, redis_url))
    assert host.start().ready
    _replay(host, bars, quotes, instants[:120])
    first = host.audit()
    assert first.venue_orders, "sma_cross traded"
    again = bars.minute(instants[119])
    assert again is not None and host.on_bars(again).replayed is True
    host.close()

    restarted = open_kernel(_spec(tmp_path, data_dir, redis_url))
    restarted.start()
    assert restarted.ports.cursor.get("1m") == event_seq(instants[119])
    _replay(restarted, bars, quotes, instants[120:])
    audit = restarted.audit()
    restarted.close()
    assert set(first.venue_orders) <= set(audit.venue_orders)
    assert sorted(audit.ledger_fills) == audit.venue_fills
    assert audit.ledger_positions == audit.venue_positions
    assert all(f.startswith("alpha:") for f in audit.ledger_fills), "fill ids scoped by account"


def test_crash_after_submits_counts_venue_orders() -> None:
    exits: list[int] = []

    class Venue:
        def __init__(self) -> None:
            self.orders = ["a"]

        def orders_since(self, since: datetime) -> list[str]:
            return self.orders

        def get_order(self, cid: str) -> str | None:
            return cid if cid in self.orders else None

        def submit(self, order: Any) -> Any:
            if order.client_order_id not in self.orders:
                self.orders.append(order.client_order_id)
            return order

    class _Ord:
        def __init__(self, cid: str) -> None:
            self.client_order_id = cid

    def Ord(cid: str) -> Any:
        return _Ord(cid)

    venue: Any = Venue()
    crash = CrashAfterSubmits(venue, 3, exit=exits.append)
    crash.submit(Ord("b"))
    crash.submit(Ord("b"))  # a resubmission is not a new order
    assert exits == []
    crash.submit(Ord("c"))
    assert exits == [1]
    restarted = CrashAfterSubmits(venue, 3, exit=exits.append)  # the restarted process
    restarted.submit(Ord("d"))
    assert exits == [1], "a restarted process does not crash again"


def test_schedule_handlers_fan_out() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def fan_out(method: str, args: tuple[Any, ...]) -> dict[str, Any]:
        calls.append((method, args))
        return {"account:a": "ok"}

    handlers = account_handlers(fan_out)
    specs = {s.kind: s for s in default_schedule()}
    due = datetime(2024, 11, 29, 17, 30, tzinfo=UTC)
    assert handlers["flatten"](Occurrence(specs["flatten"], due, SESSION)) == "1 account(s)"
    assert calls == [("scheduled_flatten", ("flatten.2", due))]
    with pytest.raises(SkipTask):
        handlers["trading_cycle"](Occurrence(specs["trading_cycle"], due, SESSION))


def test_a_subscriber_attached_to_the_kernel_bus_sees_bars_fills_and_ledger_events(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    bars = SessionBars(BarStore(data_dir), SESSION, SYMBOLS)
    quotes = RedisQuoteCache(client_from_url(redis_url), SimClock(bars.instants[0]))
    kernel = open_kernel(_spec(tmp_path, data_dir, redis_url))
    seen: dict[type, list[Any]] = {BarProcessed: [], FillsRecorded: [], LedgerRecorded: []}
    for kind, got in seen.items():
        kernel.bus.subscribe(kind, got.append)
    kernel.start()
    _replay(kernel, bars, quotes, bars.instants[:120])
    audit = kernel.audit()
    kernel.close()
    processed = seen[BarProcessed]
    assert len(processed) == 120 and sum(m.submitted for m in processed) == len(audit.venue_orders)
    fills = [f for m in seen[FillsRecorded] for f in m.fill_ids]
    assert sorted(fills) == audit.ledger_fills, "every fill once, after its ledger commit"
    kinds = {m.kind for m in seen[LedgerRecorded]}
    assert {"fill", "trading.recovered"} <= kinds


def test_a_real_brokers_account_gets_the_desks_credentials(tmp_path: Path) -> None:
    from cluster.supervisor import Supervisor
    from configs import load_settings

    base = load_settings()
    settings = base.model_copy(
        update={
            "credentials": base.credentials.model_copy(
                update={"alpaca": base.credentials.alpaca.model_copy(update={"api_key": SecretStr("k-test")})}
            )
        }
    )
    account = settings.accounts[0].id
    (spec,) = Supervisor(settings, tmp_path, accounts=[account], redis_url="redis://127.0.0.1:1/0").specs()
    key = spec.credentials.alpaca.api_key
    assert key is not None and key.get_secret_value() == "k-test" and "k-test" not in repr(spec)


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


class _RecordedMetrics:
    """The ``Metrics`` port kept in memory (Ray's export has its own scrape test)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def inc(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self.counts[name] += int(value)

    def set(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        return None

    def observe(self, name: str, value: float, tags: Mapping[str, str]) -> None:
        self.counts[f"{name}#observed"] += 1


def test_a_running_kernel_alerts_counts_and_snapshots_with_market_context(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    """The desk's wiring: alerts from settings.notifications reach a webhook, metrics count what
    the ledger holds, entry snapshots carry the stored bars' market context."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    notify = NotificationsConfig(webhooks=[WebhookChannel(url=SecretStr(url))], retries=0, budget_seconds=3.0)
    metrics = _RecordedMetrics()
    spec = _spec(tmp_path, data_dir, redis_url, notify=notify, index_symbols=SYMBOLS[:1])
    bars = SessionBars(BarStore(data_dir), SESSION, SYMBOLS)
    client = client_from_url(redis_url)
    quotes = RedisQuoteCache(client, SimClock(bars.instants[0]))
    kernel = open_kernel(spec, metrics=metrics)
    try:
        kernel.start()
        _replay(kernel, bars, quotes, bars.instants[:120])
        RedisCommandInbox(client).push("alpha", {"cmd": "halt", "by": "ops", "reason": "drill"})
        _replay(kernel, bars, quotes, bars.instants[120:125])
        ledger = kernel.ports.ledger
        orders, fills = ledger.orders(AccountId("alpha")), ledger.fills(AccountId("alpha"))
        entries = ledger.snapshots(AccountId("alpha"), SnapshotKind.ENTRY)
    finally:
        kernel.close()
    deadline = time.monotonic() + 10
    while not any("kill switch" in json.dumps(m) for m in _Hook.received) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.shutdown()
    assert any("kill switch" in json.dumps(m).lower() for m in _Hook.received), _Hook.received
    assert orders and metrics.counts["raydesk_orders"] == len(orders)
    assert metrics.counts["raydesk_fills"] == len(fills)
    assert metrics.counts["raydesk_cycle_ms#observed"] == 125
    assert entries, "the replay opened positions"
    # market context from the stored daily bars of the index (a week of history: no trend yet)
    assert all(s.payload["index_symbol"] == SYMBOLS[0] and s.payload["index_level"] for s in entries)
