"""Registry records: ``ModelVersion`` (a model and its lineage), ``PromotionEvent``, errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.clock import ensure_utc
from core.errors import InvalidValue, PermanentError

__all__ = [
    "METADATA_FORMAT",
    "ModelNotFound",
    "ModelVersion",
    "PromotionEvent",
    "RegistryError",
    "check_strategy",
    "check_version",
    "format_version",
    "version_number",
]

METADATA_FORMAT = 1
_STRATEGY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_VERSION = re.compile(r"v(\d{4,})")


class RegistryError(PermanentError):
    """A registry operation that cannot succeed as asked (nothing to roll back to, gates failed)."""


class ModelNotFound(RegistryError):
    """No such strategy or version in the registry."""


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is a safe directory name (letters, digits, ``_.-``), else ``InvalidValue``."""
    if not _STRATEGY.fullmatch(strategy):
        raise InvalidValue(f"invalid strategy name {strategy!r}: use letters, digits, '_', '.', '-'")
    return strategy


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(version):
        raise InvalidValue(f"invalid model version {version!r}: expected e.g. 'v0001'")
    return version


def format_version(number: int) -> str:
    return f"v{number:04d}"


def version_number(version: str) -> int:
    return int(check_version(version)[1:])


@dataclass(frozen=True)
class ModelVersion:
    """One registered model with its full lineage.

    ``promoted_at`` is set only on the strategy's currently promoted version: the time it became
    current (by a promotion or a rollback).
    """

    strategy: str
    version: str
    artifact_path: Path
    artifact_sha256: str
    metrics: dict[str, Any]
    features: tuple[str, ...]
    feature_hash: str
    data_window: tuple[datetime, datetime]
    params: dict[str, Any]
    code_version: str
    created_at: datetime
    gate_report: dict[str, Any] | None = None
    promoted_at: datetime | None = None

    @property
    def number(self) -> int:
        return version_number(self.version)

    def to_metadata(self) -> dict[str, Any]:
        """The ``metadata.json`` content (paths relative to the version directory)."""
        return {
            "format": METADATA_FORMAT,
            "strategy": self.strategy,
            "version": self.version,
            "artifact": self.artifact_path.name,
            "artifact_sha256": self.artifact_sha256,
            "metrics": self.metrics,
            "features": list(self.features),
            "feature_hash": self.feature_hash,
            "data_window": [self.data_window[0].isoformat(), self.data_window[1].isoformat()],
            "params": self.params,
            "code_version": self.code_version,
            "created_at": self.created_at.isoformat(),
            "gate_report": self.gate_report,
        }

    @classmethod
    def from_metadata(
        cls, meta: dict[str, Any], directory: Path, promoted_at: datetime | None = None
    ) -> ModelVersion:
        start, end = meta["data_window"]
        return cls(
            strategy=meta["strategy"],
            version=meta["version"],
            artifact_path=directory / meta["artifact"],
            artifact_sha256=meta["artifact_sha256"],
            metrics=meta["metrics"],
            features=tuple(meta["features"]),
            feature_hash=meta["feature_hash"],
            data_window=(datetime.fromisoformat(start), datetime.fromisoformat(end)),
            params=meta["params"],
            code_version=meta["code_version"],
            created_at=datetime.fromisoformat(meta["created_at"]),
            gate_report=meta["gate_report"],
            promoted_at=promoted_at,
        )


@dataclass(frozen=True, slots=True)
class PromotionEvent:
    """An entry of a strategy's promotion history: ``promote`` or ``rollback``."""

    action: str
    version: str
    previous: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "version": self.version,
            "previous": self.previous,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PromotionEvent:
        return cls(
            raw["action"], raw["version"], raw["previous"], ensure_utc(datetime.fromisoformat(raw["at"]))
        )
