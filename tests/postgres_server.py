"""A private PostgreSQL server for the tests: Debian's binaries, a temporary cluster, a Unix socket.

The server listens on no TCP port at all (``listen_addresses=''``): clients reach it through a
socket in the cluster's own directory. As root (CI), the cluster is owned and run by the
``postgres`` user, because PostgreSQL refuses to run as root. ``RAYDESK_TEST_POSTGRES_URL``
points the tests at a server of your own instead (its user must be allowed CREATE DATABASE).

Without PostgreSQL binaries the tests that need it fail under CI (``.ci/run`` installs them) and
are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_counter = itertools.count()


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """A running throw-away cluster; ``new_database()`` gives each test its own database."""

    def __init__(self, admin_url: str, stop: list[str] | None, root: Path | None) -> None:
        self.admin_url = admin_url
        self._stop = stop
        self._root = root

    @classmethod
    def start(cls) -> PostgresServer:
        external = os.environ.get("RAYDESK_TEST_POSTGRES_URL")
        if external:
            return cls(external, None, None)
        bin_dir = _binaries()
        if bin_dir is None:
            message = "PostgreSQL server binaries not found (apt-get install postgresql)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        root = Path(tempfile.mkdtemp(prefix="raydesk-pg-"))
        data = root / "data"
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        init = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "raydesk", "--no-sync"]
        subprocess.run(_as_server_user(init), check=True, capture_output=True)
        options = f"-c listen_addresses='' -k {root} -c fsync=off -c max_connections=200"
        start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(_as_server_user(start), check=True, capture_output=True)
        stop = _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        return cls(f"postgresql://raydesk@/postgres?host={root}", stop, root)

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, query = self.admin_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    def stop(self) -> None:
        if self._stop is not None:
            subprocess.run(self._stop, check=False, capture_output=True)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()
