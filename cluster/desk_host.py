"""A desk that runs without a terminal: its own Ray head, a detached driver actor, a clean stop.

``raydesk run`` starts (or attaches to) the desk of a state folder and returns:

* the desk's own Ray head (``ray start --head`` on a free loopback port, with its own temp
  folder ``/tmp/raydesk-<hash of the state folder>``), so it never joins another session's
  cluster and every process it starts can be found again by that folder;
* the detached ``desk_driver`` actor: it brings the desk up through the ``Supervisor`` (the
  embedded Redis and the named actors), then, on a thread of its own, publishes the synthetic
  market minute by minute on the real clock, wakes the scheduler at each due task and re-creates
  dead account actors (each restart recorded);
* ``<state>/desk.json``: the head's address and temp folder, the driver's Redis process.

``raydesk stop`` asks the driver to stop entries and the actors, then ends every process of the
head (found by its temp folder) and the Redis server; a failed start does the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import psutil

from core.errors import ConfigError

__all__ = ["DRIVER_NAME", "DeskHost", "HostRecord", "desk_processes"]

DRIVER_NAME: Final = "desk_driver"
RECORD_FILE: Final = "desk.json"
_POLL: Final = timedelta(seconds=30)
_SCORING: Final = ("model_versions", "scored", "fallbacks", "fallback_total")
"""The account state's scoring fields: the models it scores with and its falls back to rules."""
_AHEAD: Final = timedelta(days=4)
"""How far ``status`` looks for the next scheduled tasks."""
_START_TIMEOUT_S: Final = 180


@dataclass(frozen=True, slots=True)
class HostRecord:
    """Where the running desk is: its Ray head and the processes it started."""

    address: str
    temp_dir: str
    redis_pid: int | None = None


def desk_processes(temp_dir: str, extra_pids: Sequence[int] = ()) -> list[psutil.Process]:
    """Running processes of the desk's Ray head (their command line names ``temp_dir``) and
    ``extra_pids`` (the Redis server it started)."""
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        ours = temp_dir in cmdline or proc.pid in extra_pids
        if ours and proc.pid != os.getpid() and _alive(proc):
            found.append(proc)
    return found


def use_token_auth() -> None:
    """Token authentication for the desk's head and its clients (this process and children):
    Ray's token (``~/.ray/auth_token``) is created if missing, as a local ``ray.init`` does."""
    if not (Path.home() / ".ray" / "auth_token").exists():
        ray_bin = Path(sys.executable).parent / "ray"
        subprocess.run(
            [str(ray_bin), "get-auth-token", "--generate"], capture_output=True, timeout=60, check=True
        )
    os.environ["RAY_AUTH_MODE"] = "token"
    if "ray" in sys.modules:  # Ray read its configuration at import: read it again
        from ray._raylet import Config  # type: ignore[attr-defined]  # (untyped: Cython)

        Config.initialize("")


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class DeskHost:
    """The desk of the state folder ``state_dir``: start, attach, stop."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir).resolve()
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:10]
        self.temp_dir = f"/tmp/raydesk-{digest}"  # short: Ray's socket paths must stay < 108 bytes
        self.record_path = self.state_dir / RECORD_FILE

    def record(self) -> HostRecord | None:
        if not self.record_path.exists():
            return None
        return HostRecord(**json.loads(self.record_path.read_text(encoding="utf-8")))

    def running(self) -> HostRecord | None:
        """The record of a desk whose Ray head still runs, else None."""
        found = self.record()
        if found is None or not desk_processes(found.temp_dir):
            return None
        return found

    def start_head(self) -> HostRecord:
        """Start the desk's own Ray head (2 CPUs, no dashboard, loopback)."""
        port = _free_port()
        ray_bin = Path(sys.executable).parent / "ray"
        cmd = [
            str(ray_bin),
            "start",
            "--head",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir}",
        ]
        use_token_auth()
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_START_TIMEOUT_S, env=env, check=False
        )
        record = HostRecord(f"127.0.0.1:{port}", self.temp_dir)
        if done.returncode != 0:
            self.stop_processes(record)
            raise ConfigError(
                f"raydesk run: Ray did not start: {(done.stderr or done.stdout).strip()[-400:]}"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.save(record)
        return record

    def save(self, record: HostRecord) -> None:
        self.record_path.write_text(json.dumps(asdict(record)), encoding="utf-8")

    def stop_processes(self, record: HostRecord, timeout_s: float = 15.0) -> list[int]:
        """End every process of the desk's head and its Redis server; their pids."""
        procs = desk_processes(record.temp_dir, [record.redis_pid] if record.redis_pid else [])
        for proc in procs:
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                continue
        _, alive = psutil.wait_procs(procs, timeout=timeout_s)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(alive, timeout=5)
        self.record_path.unlink(missing_ok=True)
        return [p.pid for p in procs]


class _DeskDriver:
    """Brings the desk up and drives it on the real clock, on its own thread."""

    def __init__(self, settings: Any, state_dir: str, accounts: list[str] | None) -> None:
        self.settings = settings
        self.state_dir = Path(state_dir)
        self.accounts = accounts
        self.events: list[str] = []
        self.restarts: list[dict[str, Any]] = []
        self.stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.supervisor: Any = None
        self.desk: Any = None

    def up(self) -> dict[str, Any]:
        """Start the desk's actors (idempotent); what runs."""
        from cluster.live_feed import LiveFeed
        from cluster.supervisor import Supervisor

        if self.desk is None:
            self.supervisor = Supervisor(self.settings, self.state_dir, accounts=self.accounts)
            try:
                self.desk = self.supervisor.up()
                simulated = self._simulated()
                self._feed = (
                    LiveFeed(self.desk, self.supervisor.symbols, self._prepare) if simulated else None
                )
            except BaseException:
                self.supervisor.down(stop_redis=True)  # nothing half up: no orphaned Redis
                raise
            self._thread = threading.Thread(target=self._loop, name="desk-driver", daemon=True)
            self._thread.start()
            self._note("desk up")
        return self.status()

    def _simulated(self) -> bool:
        ids = self.supervisor.account_ids
        return all(self.settings.account(a).broker == "sim" for a in ids)

    def _prepare(self, day: Any) -> None:
        from rich.console import Console

        from cluster.live_feed import synthetic_through

        self.settings = synthetic_through(self.settings, day, Console(stderr=True))

    def _note(self, line: str) -> None:
        from core.clock import LiveClock

        self.events.append(f"{LiveClock().now().isoformat(timespec='seconds')} {line}")
        del self.events[:-500]

    def _loop(self) -> None:
        import ray

        from core.clock import LiveClock

        clock = LiveClock()
        backoff = 1.0
        while not self.stopped.is_set():
            try:
                if self._feed is not None:
                    for step in self._feed.pump(clock.now()):
                        self._note(
                            f"bars {step.at.isoformat()}: {step.bars} to {len(step.accounts)} accounts"
                        )
                for run in ray.get(self.desk.scheduler.advance_to.remote(clock.now())):
                    self._note(
                        f"task {_field(run, 'task')}: {_field(run, 'status')} {_field(run, 'detail') or ''}"
                    )
                for name in self.supervisor.restart_dead():
                    self.restarts.append({"actor": name, "at": clock.now().isoformat()})
                    self._note(f"restarted {name}")
                wake = ray.get(self.desk.scheduler.next_wake.remote())
                feed_due = self._feed.next_due() if self._feed is not None else None
                wakes = [w for w in (wake, feed_due) if w is not None]
                pause = (min([*wakes, clock.now() + _POLL]) - clock.now()).total_seconds()
                backoff = 1.0
            except Exception as exc:  # a dead actor or Redis: note it, back off, keep driving
                self._note(f"driver error: {type(exc).__name__}: {exc}")
                pause, backoff = backoff, min(backoff * 2, 60.0)
            self.stopped.wait(max(0.05, pause))

    def status(self) -> dict[str, Any]:
        """Actors, accounts, models and scoring, the next scheduled tasks, recent events."""
        import ray

        actors = [asdict(s) for s in self.supervisor.status()] if self.supervisor is not None else []
        from core.calendar import MarketCalendar
        from core.clock import LiveClock
        from core.scheduling import Scheduler

        now = LiveClock().now()
        planner = Scheduler(self.settings.scheduler.schedule(), MarketCalendar(), LiveClock())
        upcoming = [f"{o.due.isoformat()} {o.task.name}" for o in planner.occurrences(now, now + _AHEAD)][:8]
        scoring: dict[str, Any] = {}
        if self.desk is not None:
            for name, handle in self.desk.accounts.items():
                try:
                    state = ray.get(handle.state.remote(), timeout=10)
                except ray.exceptions.RayError as exc:
                    scoring[self.desk.specs[name].account.id] = {"error": type(exc).__name__}
                    continue
                scoring[self.desk.specs[name].account.id] = {k: state.get(k) for k in _SCORING}
        return {
            "actors": actors,
            "accounts": list(self.supervisor.account_ids) if self.supervisor is not None else [],
            "scorer": self.supervisor.scorer_url if self.supervisor is not None else None,
            "scoring": scoring,
            "next_tasks": upcoming,
            "restarts": list(self.restarts),
            "events": self.events[-20:],
            "redis_pid": self.supervisor.redis.pid if self.supervisor and self.supervisor.redis else None,
        }

    def stop(self) -> list[str]:
        """Stop driving, stop every account's entries, then kill the actors and stop Redis."""
        self.stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        notes: list[str] = []
        if self.supervisor is not None:
            self.supervisor.down(stop_redis=True)
            notes.append("actors stopped; Redis stopped")
        self.desk = None
        return notes

    def ping(self) -> str:
        return "pong"


def _field(run: Any, name: str) -> Any:
    return run[name] if isinstance(run, dict) else getattr(run, name)


def driver_class() -> Any:
    """The driver as a Ray actor class (threaded: ``status`` answers while it drives)."""
    import ray

    remote: Any = ray.remote
    return remote(num_cpus=0, max_restarts=0, max_concurrency=4)(_DeskDriver)
