"""``ModelRegistry``: versioned models per strategy on disk, with atomic promotion and rollback.

Layout under ``root``::

    index.json                    promoted pointer, promotion stack and history per strategy
    .lock                         flock taken around every read-modify-write of the index
    .tmp/                         versions being written (never read)
    <strategy>/<version>/         <artifact> + metadata.json, published by one os.rename

Readers take no lock: a version directory appears complete or not at all, and ``index.json`` is
only ever replaced whole (``os.replace``), after the version it points to is in place.
"""

from __future__ import annotations

import builtins
import hashlib
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core.clock import Clock, ensure_utc
from core.errors import DataError, InvalidValue
from training.registry._files import (
    dumps_strict,
    exclusive_lock,
    fsync_dir,
    read_json,
    replace_json,
    write_durable,
)
from training.registry.model import (
    ModelNotFound,
    ModelVersion,
    PromotionEvent,
    RegistryError,
    check_strategy,
    check_version,
    format_version,
    version_number,
)

__all__ = ["DEFAULT_ARTIFACT_NAME", "METADATA_NAME", "ModelRegistry"]

METADATA_NAME = "metadata.json"
DEFAULT_ARTIFACT_NAME = "model.bin"
_INDEX_FORMAT = 1


class ModelRegistry:
    """Versioned models per strategy under ``root``; safe for concurrent processes."""

    def __init__(self, root: Path, clock: Clock) -> None:
        self.root = Path(root)
        self._clock = clock
        self._tmp = self.root / ".tmp"
        self._index = self.root / "index.json"
        self._lock = self.root / ".lock"
        self._tmp.mkdir(parents=True, exist_ok=True)

    # -- writing -----------------------------------------------------------------------------
    def register(
        self,
        strategy: str,
        artifact: bytes | Path,
        *,
        metrics: dict[str, Any],
        features: builtins.list[str],
        feature_hash: str,
        data_window: tuple[datetime, datetime],
        params: dict[str, Any],
        code_version: str,
        gate_report: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Store a new version (the next number for ``strategy``); it is not promoted."""
        check_strategy(strategy)
        start, end = ensure_utc(data_window[0]), ensure_utc(data_window[1])
        if end < start:
            raise InvalidValue(f"data window ends ({end}) before it starts ({start})")
        if isinstance(artifact, Path):
            name, data = artifact.name, artifact.read_bytes()
        else:
            name, data = DEFAULT_ARTIFACT_NAME, bytes(artifact)
        if name == METADATA_NAME or name.startswith("."):
            raise InvalidValue(f"artifact file name {name!r} is reserved")
        draft = ModelVersion(
            strategy=strategy,
            version=format_version(0),
            artifact_path=Path(name),
            artifact_sha256=hashlib.sha256(data).hexdigest(),
            metrics=metrics,
            features=tuple(features),
            feature_hash=feature_hash,
            data_window=(start, end),
            params=params,
            code_version=code_version,
            created_at=ensure_utc(self._clock.now()),
            gate_report=gate_report,
        )
        try:
            dumps_strict(draft.to_metadata())
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"model metadata must be strict JSON: {exc}") from exc

        staging = Path(tempfile.mkdtemp(dir=self._tmp, prefix=f"{strategy}-"))
        try:
            write_durable(staging / name, data)  # the slow part, outside the lock
            with exclusive_lock(self._lock):
                index = self._read_index()
                entry = _entry(index, strategy)
                number = max([entry["last_version"], *self._numbers_on_disk(strategy)]) + 1
                version = format_version(number)
                final = self.root / strategy / version
                model = replace(draft, version=version, artifact_path=final / name)
                write_durable(staging / METADATA_NAME, dumps_strict(model.to_metadata()))
                fsync_dir(staging)
                final.parent.mkdir(exist_ok=True)
                staging.rename(final)
                fsync_dir(final.parent)
                entry["last_version"] = number
                replace_json(self._index, index)
            return model
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def promote(self, strategy: str, version: str, *, force: bool = False) -> ModelVersion:
        """Make ``version`` the served model. A version whose gate report failed needs ``force``.

        Promoting the version that is already current changes nothing.
        """
        with exclusive_lock(self._lock):
            model = self._load(strategy, version)
            report = model.gate_report
            if report is not None and report.get("passed") is False and not force:
                raise RegistryError(f"{strategy} {version} failed its promotion gates; use force to override")
            index = self._read_index()
            entry = _entry(index, strategy)
            stack: builtins.list[str] = entry["stack"]
            current = stack[-1] if stack else None
            if current == version:
                return replace(model, promoted_at=_parse(entry["promoted_at"]))
            now = ensure_utc(self._clock.now())
            stack.append(version)
            self._record(entry, PromotionEvent("promote", version, current, now))
            replace_json(self._index, index)
        return replace(model, promoted_at=now)

    def rollback(self, strategy: str) -> ModelVersion:
        """Return to the version promoted before the current one (the current one is popped)."""
        check_strategy(strategy)
        with exclusive_lock(self._lock):
            index = self._read_index()
            entry = _entry(index, strategy)
            stack: builtins.list[str] = entry["stack"]
            if len(stack) < 2:
                what = f"only {stack[0]} has been promoted" if stack else "nothing has been promoted"
                raise RegistryError(f"cannot roll back {strategy}: {what}, no previous version to return to")
            current = stack.pop()
            model = self._load(strategy, stack[-1])
            now = ensure_utc(self._clock.now())
            self._record(entry, PromotionEvent("rollback", model.version, current, now))
            replace_json(self._index, index)
        return replace(model, promoted_at=now)

    def count_trials(self, strategy: str, window: str, n: int) -> int:
        """Add ``n`` tuning trials on ``window`` (a data-window key) to ``strategy``'s count and
        return the total: every run, reruns included, so the deflated Sharpe charges for them."""
        if n < 0:
            raise InvalidValue(f"a run cannot add {n} trials")
        with exclusive_lock(self._lock):
            index = self._read_index()
            counts: dict[str, int] = _entry(index, check_strategy(strategy)).setdefault("trials", {})
            counts[window] = counts.get(window, 0) + n
            replace_json(self._index, index)
            return counts[window]

    def trials_counted(self, strategy: str, window: str) -> int:
        """Trials counted so far for ``strategy`` on ``window`` (``count_trials``)."""
        entry = self._read_index()["strategies"].get(check_strategy(strategy)) or {}
        return int(entry.get("trials", {}).get(window, 0))

    # -- reading -----------------------------------------------------------------------------
    def promoted(self, strategy: str) -> ModelVersion | None:
        """The currently promoted version of ``strategy``, if any."""
        check_strategy(strategy)
        entry = self._read_index()["strategies"].get(strategy)
        if not entry or not entry["stack"]:
            return None
        return replace(self._load(strategy, entry["stack"][-1]), promoted_at=_parse(entry["promoted_at"]))

    def get(self, strategy: str, version: str) -> ModelVersion:
        current = self.promoted(strategy)
        if current is not None and current.version == version:
            return current
        return self._load(strategy, version)

    def latest(self, strategy: str) -> ModelVersion | None:
        """The highest registered version of ``strategy``, if any."""
        numbers = self._numbers_on_disk(check_strategy(strategy))
        return self.get(strategy, format_version(max(numbers))) if numbers else None

    def strategies(self) -> builtins.list[str]:
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and self._numbers_on_disk(p.name)
        )

    def history(self, strategy: str) -> builtins.list[PromotionEvent]:
        """Every promotion and rollback of ``strategy``, oldest first."""
        entry = self._read_index()["strategies"].get(check_strategy(strategy))
        return [PromotionEvent.from_json(e) for e in entry["history"]] if entry else []

    def list(self, strategy: str | None = None) -> builtins.list[ModelVersion]:
        """Every version (of one strategy, or of all), by strategy then version number."""
        names = [check_strategy(strategy)] if strategy is not None else self.strategies()
        index = self._read_index()["strategies"]
        out: builtins.list[ModelVersion] = []
        for name in names:
            entry = index.get(name)
            current = entry["stack"][-1] if entry and entry["stack"] else None
            for number in sorted(self._numbers_on_disk(name)):
                model = self._load(name, format_version(number))
                if model.version == current and entry is not None:
                    model = replace(model, promoted_at=_parse(entry["promoted_at"]))
                out.append(model)
        return out

    def load_artifact(self, model: ModelVersion) -> bytes:
        """The artifact's bytes, checked against the recorded SHA-256."""
        data = model.artifact_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != model.artifact_sha256:
            raise DataError(f"artifact of {model.strategy} {model.version} does not match its checksum")
        return data

    # -- internals ---------------------------------------------------------------------------
    def _load(self, strategy: str, version: str) -> ModelVersion:
        directory = self.root / check_strategy(strategy) / check_version(version)
        meta = read_json(directory / METADATA_NAME, None)
        if meta is None:
            raise ModelNotFound(f"no model {strategy} {version} in {self.root}")
        return ModelVersion.from_metadata(meta, directory)

    def _numbers_on_disk(self, strategy: str) -> builtins.list[int]:
        directory = self.root / strategy
        if not directory.is_dir():
            return []
        numbers = []
        for p in directory.iterdir():
            try:
                numbers.append(version_number(p.name))
            except InvalidValue:
                continue
        return numbers

    def _read_index(self) -> dict[str, Any]:
        index: dict[str, Any] = read_json(self._index, {"format": _INDEX_FORMAT, "strategies": {}})
        if index.get("format") != _INDEX_FORMAT:
            raise DataError(f"{self._index} has unknown format {index.get('format')!r}")
        return index

    @staticmethod
    def _record(entry: dict[str, Any], event: PromotionEvent) -> None:
        entry["promoted_at"] = event.at.isoformat()
        entry["history"].append(event.to_json())


def _entry(index: dict[str, Any], strategy: str) -> dict[str, Any]:
    entries: dict[str, Any] = index["strategies"]
    entry: dict[str, Any] = entries.setdefault(
        strategy, {"last_version": 0, "stack": [], "promoted_at": None, "history": []}
    )
    return entry


def _parse(ts: str | None) -> datetime | None:
    return ensure_utc(datetime.fromisoformat(ts)) if ts else None
