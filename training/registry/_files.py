"""Crash-safe file primitives: an inter-process lock, atomic JSON replace, fsync helpers."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import DataError


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block.

    The lock belongs to this open file description, so it excludes other processes and other
    threads that open the file themselves; closing the descriptor releases it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    """Write and fsync a new file (callers publish it by renaming its directory or itself)."""
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def dumps_strict(value: Any) -> bytes:
    """Strict JSON (no NaN or infinity), sorted keys; ``TypeError``/``ValueError`` if impossible."""
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False).encode()


def replace_json(path: Path, value: Any) -> None:
    """Atomically replace ``path`` with ``value`` as JSON: temp file, fsync, ``os.replace``."""
    payload = dumps_strict(value)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def read_json(path: Path, default: Any) -> Any:
    """``path`` parsed, ``default`` if it does not exist; a corrupt file raises ``DataError``."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc
