"""Backups of the ledger (SQLite's online backup API: consistent while the desk writes) and of
the model registry index, with retention; ``restore`` into a directory no live desk uses.

A backup is a directory ``<dest>/<YYYYmmdd-HHMMSS>/`` holding ``ledger.sqlite3``, the registry
index files and ``manifest.json`` (what was copied, sizes, SHA-256). Retention keeps the newest
``keep`` backups.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from adapters.ledger.integrity import integrity_problems
from core.clock import ensure_utc
from core.errors import ConfigError, InvalidValue

__all__ = ["BACKUP_LEDGER", "Backup", "backup", "holders", "list_backups", "prune", "restore"]

BACKUP_LEDGER = "ledger.sqlite3"
MANIFEST = "manifest.json"
REGISTRY_DIR = "registry"
_INDEX_SUFFIXES = (".json", ".sqlite3", ".db", ".yaml", ".toml")


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    created: str
    files: dict[str, str]
    """Relative path to SHA-256."""


def backup(
    ledger: Path,
    dest: Path,
    now: datetime,
    *,
    registry_root: Path | None = None,
    keep: int = 14,
    pages_per_step: int = 256,
) -> Backup:
    """Copy ``ledger`` (and the registry index under ``registry_root``) into a new dated
    directory under ``dest``, check the copy's integrity, then prune to ``keep`` backups."""
    if keep < 1:
        raise InvalidValue(f"backup keep must be at least 1, got {keep}")
    if not ledger.is_file():
        raise ConfigError(f"no ledger at {ledger}")
    stamp = ensure_utc(now).strftime("%Y%m%d-%H%M%S")
    target = dest / stamp
    partial = dest / f".{stamp}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _online_copy(ledger, partial / BACKUP_LEDGER, pages_per_step)
    problems = integrity_problems(partial / BACKUP_LEDGER)
    if problems:
        shutil.rmtree(partial)
        raise InvalidValue("the ledger copy failed its integrity check: " + "; ".join(problems))
    if registry_root is not None and registry_root.is_dir():
        _copy_index(registry_root, partial / REGISTRY_DIR)
    files = {str(p.relative_to(partial)): _sha256(p) for p in sorted(partial.rglob("*")) if p.is_file()}
    created = ensure_utc(now).isoformat()
    manifest = {"created": created, "ledger": str(ledger), "files": files}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)  # a backup appears whole or not at all
    prune(dest, keep)
    return Backup(target, created, files)


def list_backups(dest: Path) -> list[Backup]:
    """Complete backups under ``dest``, oldest first."""
    found = []
    for d in sorted(dest.iterdir()) if dest.is_dir() else []:
        manifest = d / MANIFEST
        if d.is_dir() and not d.name.startswith(".") and manifest.is_file():
            data = json.loads(manifest.read_text())
            found.append(Backup(d, data["created"], dict(data["files"])))
    return found


def prune(dest: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns what was deleted."""
    old = [b.path for b in list_backups(dest)[:-keep]]
    for path in old:
        shutil.rmtree(path)
    return old


def holders(paths: Sequence[Path]) -> list[int]:
    """Other processes that have one of ``paths`` (a file, or any file under a directory) open
    (Linux ``/proc``; elsewhere none are found)."""
    wanted = [p.resolve() for p in paths]
    found: list[int] = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        targets = _open_files(entry)
        if any(t == w or w in t.parents for t in targets for w in wanted):
            found.append(int(entry.name))
    return sorted(found)


def _open_files(process: Path) -> list[Path]:
    found = []
    try:
        fds = list((process / "fd").iterdir())
    except OSError:  # gone, or not ours to read
        return []
    for fd in fds:
        try:
            found.append(fd.readlink())
        except OSError:  # closed meanwhile
            continue
    return found


def restore(source: Path, target_dir: Path, desk_ledger: Path | None = None) -> Path:
    """Restore the backup directory ``source`` into ``target_dir`` (which must hold no ledger).

    Refuses while a process (a running desk) has ``desk_ledger`` or anything in ``target_dir``
    open, or when a file fails its checksum or the restored ledger its integrity check.
    Returns the restored ledger's path.
    """
    busy = holders([p for p in (desk_ledger, target_dir) if p is not None and p.exists()])
    if busy:
        raise ConfigError(
            f"a desk is running (process {', '.join(map(str, busy))} has its ledger open): stop it before restoring"
        )
    found = next((b for b in list_backups(source.parent) if b.path == source), None)
    if found is None:
        raise ConfigError(f"{source} is not a complete backup (no {MANIFEST})")
    ledger = target_dir / BACKUP_LEDGER
    if ledger.exists():
        raise ConfigError(f"{ledger} exists: restore only into a fresh directory")
    for rel, digest in found.files.items():
        if _sha256(source / rel) != digest:
            raise InvalidValue(f"backup file {rel} does not match its checksum")
    target_dir.mkdir(parents=True, exist_ok=True)
    for rel in found.files:
        out = target_dir / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, out)
    problems = integrity_problems(ledger)
    if problems:
        raise InvalidValue("the restored ledger failed its integrity check: " + "; ".join(problems))
    return ledger


def _online_copy(source: Path, target: Path, pages_per_step: int) -> None:
    # sqlite3's backup API copies page by page and restarts a step when a writer changed a
    # page, so the copy is one consistent state even while the desk keeps writing.
    with closing(sqlite3.connect(source, timeout=30.0)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst, pages=pages_per_step)
        dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file


def _copy_index(root: Path, target: Path) -> None:
    """The registry's index files (not the model artefacts, which are immutable and large)."""
    for path in _index_files(root):
        out = target / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".sqlite3", ".db"):
            _online_copy(path, out, 256)
        else:
            shutil.copy2(path, out)


def _index_files(root: Path) -> Sequence[Path]:
    return [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in _INDEX_SUFFIXES and p.stat().st_size < 2**24
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
