"""Backups while the desk writes: restore into a fresh directory, integrity, reconciliation."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.ledger import SqliteLedger
from adapters.ledger.backup import BACKUP_LEDGER, backup, list_backups, restore
from adapters.ledger.integrity import integrity_problems
from cluster.cli.main import app
from core.clock import SimClock
from core.errors import ConfigError, InvalidValue
from core.execution import Reconciler
from tests.unit.test_execution_service import ACCOUNT, T0, Desk, make_desk


class Trader(threading.Thread):
    """The desk at work: orders, fills and positions written to the ledger until stopped."""

    def __init__(self, desk: Desk, most: int = 150) -> None:
        super().__init__(daemon=True)
        self.desk, self.most = desk, most
        self.trades = 0
        self.stop = threading.Event()
        self.started_trading = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.trades < self.most:
            self.desk.execute(f"s{self.trades}", qty=1)
            self.desk.clock.advance(timedelta(seconds=1))
            self.desk.quote("189.95", "190.02")  # the ask under the limit: the order fills
            self.desk.clock.advance(timedelta(seconds=1))
            self.desk.quote("190.00", "190.10")
            self.desk.service.process_events()
            self.trades += 1
            if self.trades == 5:
                self.started_trading.set()


def registry(root: Path) -> Path:
    (root / "trident" / "v1").mkdir(parents=True)
    (root / "index.json").write_text(json.dumps({"trident": {"promoted": "v1"}}))
    (root / "trident" / "v1" / "metadata.json").write_text("{}")
    (root / "trident" / "v1" / "model.txt.gz").write_bytes(b"\0" * 1000)  # an artefact: not copied
    return root


def test_backup_while_the_desk_writes_restores_and_reconciles(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    ledger_path = tmp_path / "ledger.db"
    trader = Trader(desk)
    trader.start()
    assert trader.started_trading.wait(10)
    before = trader.trades
    made = backup(
        ledger_path, tmp_path / "backups", T0, registry_root=registry(tmp_path / "models"), pages_per_step=1
    )
    during = trader.trades
    trader.stop.set()
    trader.join(10)
    assert during > before or trader.trades == trader.most  # the desk kept writing meanwhile
    assert set(made.files) == {BACKUP_LEDGER, "registry/index.json", "registry/trident/v1/metadata.json"}

    restored = restore(made.path, tmp_path / "fresh", desk_ledger=ledger_path)
    assert integrity_problems(restored) == []
    copy = SqliteLedger(restored, SimClock(desk.clock.now()))
    backed_up = len(copy.fills(ACCOUNT))
    assert 0 < backed_up <= len(desk.ledger.fills(ACCOUNT))
    # The venue went on after the backup: reconciliation brings the copy level, without a block.
    result = Reconciler(ACCOUNT, desk.client, copy, copy_clock(desk)).reconcile(since=T0 - timedelta(days=1))
    assert not result.blocked and result.discrepancies == ()
    venue_fills = sorted(f.fill_id for f in desk.client.fills_since(T0 - timedelta(days=1)))
    assert sorted(f.fill_id for f in copy.fills(ACCOUNT)) == venue_fills
    assert result.fills_recorded == len(venue_fills) - backed_up
    assert [(p.instrument.id, p.net) for p in copy.positions(ACCOUNT)] == [
        (p.instrument.id, p.net) for p in desk.ledger.positions(ACCOUNT)
    ]
    assert integrity_problems(restored) == []
    copy.close()
    desk.ledger.close()


def copy_clock(desk: Desk) -> SimClock:
    return SimClock(desk.clock.now())


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    desk.execute("s1")
    for minutes in range(4):
        backup(tmp_path / "ledger.db", tmp_path / "b", T0 + timedelta(minutes=minutes), keep=2)
    kept = [b.created for b in list_backups(tmp_path / "b")]
    assert kept == [(T0 + timedelta(minutes=m)).isoformat() for m in (2, 3)]
    desk.ledger.close()


def test_restore_refuses_under_a_live_desk_and_over_a_ledger(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    desk.execute("s1")
    made = backup(tmp_path / "ledger.db", tmp_path / "b", T0)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]); c.execute('select 1'); print('up', flush=True); time.sleep(60)",
            str(tmp_path / "ledger.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
        with pytest.raises(ConfigError, match=rf"a desk is running \(process {holder.pid}\b"):
            restore(made.path, tmp_path / "fresh", desk_ledger=tmp_path / "ledger.db")
    finally:
        holder.kill()
        holder.wait(10)
    restore(made.path, tmp_path / "fresh", desk_ledger=tmp_path / "ledger.db")
    with pytest.raises(ConfigError, match="restore only into a fresh directory"):
        restore(made.path, tmp_path / "fresh", desk_ledger=tmp_path / "ledger.db")
    (made.path / BACKUP_LEDGER).write_bytes(b"tampered")
    with pytest.raises(InvalidValue, match="checksum"):
        restore(made.path, tmp_path / "other", desk_ledger=tmp_path / "ledger.db")
    desk.ledger.close()


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    desk = make_desk(tmp_path)
    desk.execute("s1")
    desk.ledger.close()
    env = {"RAYDESK_LEDGER__PATH": str(tmp_path / "ledger.db")}
    runner = CliRunner()
    made = runner.invoke(
        app, ["backup", "--dest", str(tmp_path / "b"), "--registry", str(tmp_path / "none")], env=env
    )
    assert made.exit_code == 0, made.output
    [found] = list_backups(tmp_path / "b")
    done = runner.invoke(app, ["restore", str(found.path), "--to", str(tmp_path / "fresh")], env=env)
    assert done.exit_code == 0, done.output
    assert "integrity check passed" in done.output and (tmp_path / "fresh" / BACKUP_LEDGER).is_file()
