"""``ServingConfig``: the ``user_config`` pushed to every replica; a new one is a hot swap.

Plain JSON (it is shown in Serve's status): the token appears only as its SHA-256.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from serving.options import ServingOptions

__all__ = ["ServingConfig"]


@dataclass(frozen=True)
class ServingConfig:
    """What replicas serve (strategies, versions, limits) and how the app was deployed."""

    registry_root: str
    strategies: tuple[str, ...]
    versions: Mapping[str, str | None] = field(default_factory=dict)
    token_sha256: str | None = None
    max_rows_per_request: int = 10_000
    max_batch_rows: int = 2_048
    batch_wait_ms: float = 1.0
    max_body_bytes: int = 8 * 1024 * 1024
    # Where each replica listens for HTTP, then the deployment shape (recorded so an update can
    # re-apply it unchanged; replicas ignore it).
    host: str = "127.0.0.1"
    port: int = 8000
    num_replicas: int = 1
    replica_cpus: float = 0.5
    max_ongoing_requests: int = 128

    @classmethod
    def build(
        cls,
        registry_root: Path | str,
        strategies: Sequence[str],
        options: ServingOptions,
        versions: Mapping[str, str | None],
    ) -> ServingConfig:
        return cls(
            registry_root=str(Path(registry_root).resolve()),
            strategies=tuple(dict.fromkeys(strategies)),
            versions={s: versions.get(s) for s in dict.fromkeys(strategies)},
            token_sha256=options.token_sha256(),
            max_rows_per_request=options.max_rows_per_request,
            max_batch_rows=options.max_batch_rows,
            batch_wait_ms=options.batch_wait_ms,
            max_body_bytes=options.max_body_bytes,
            host=options.host,
            port=options.port,
            num_replicas=options.num_replicas,
            replica_cpus=options.replica_cpus,
            max_ongoing_requests=options.max_ongoing_requests,
        )

    def with_versions(self, versions: Mapping[str, str | None]) -> ServingConfig:
        return replace(self, versions={s: versions.get(s) for s in self.strategies})

    def to_user_config(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["strategies"] = list(self.strategies)
        raw["versions"] = dict(self.versions)
        return raw

    @classmethod
    def from_user_config(cls, raw: Mapping[str, Any]) -> ServingConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"serving user_config: unknown field(s) {', '.join(unknown)}")
        try:
            values = dict(raw)
            values["strategies"] = tuple(values["strategies"])
            values["versions"] = dict(values.get("versions") or {})
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"serving user_config: {exc}") from exc
