"""``ServingOptions``: how the scoring endpoint is deployed, and the bind/token safety check."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from core.errors import ConfigError

__all__ = ["ServingOptions", "is_loopback", "token_digest"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_digest(token: str) -> str:
    """SHA-256 of a bearer token: what replicas compare against, so the token never leaves the driver."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ServingOptions:
    """Deployment options of the scoring endpoint (defaults sized for a 2-core machine)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: SecretStr | None = field(default=None, repr=False)
    num_replicas: int = 1
    replica_cpus: float = 0.5
    max_ongoing_requests: int = 128
    max_rows_per_request: int = 10_000
    max_batch_rows: int = 2_048
    batch_wait_ms: float = 1.0
    max_body_bytes: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        checks = {
            "port": 1 <= self.port <= 65535,
            "num_replicas": self.num_replicas >= 1,
            "replica_cpus": 0 <= self.replica_cpus <= 64,
            "max_ongoing_requests": self.max_ongoing_requests >= 1,
            "max_rows_per_request": self.max_rows_per_request >= 1,
            "max_batch_rows": self.max_batch_rows >= 1,
            "batch_wait_ms": 0 <= self.batch_wait_ms <= 1000,
            "max_body_bytes": self.max_body_bytes >= 1024,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"serve.{name}: invalid value {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, serve_config: Any, **overrides: Any) -> ServingOptions:
        """Options from ``configs.ServeConfig``; fields it does not have yet keep their defaults."""
        names = set(cls.__dataclass_fields__)
        values = {n: getattr(serve_config, n) for n in names if hasattr(serve_config, n)}
        values.update(overrides)
        return cls(**values)

    def check_bind(self) -> None:
        """Refuse to expose the endpoint beyond loopback without a bearer token."""
        if not is_loopback(self.host) and (self.token is None or not self.token.get_secret_value()):
            raise ConfigError(
                f"serve.host: {self.host!r} is not a loopback address; set serve.token "
                "(RAYDESK_SERVE__TOKEN) to expose the scoring endpoint beyond this machine"
            )

    def token_sha256(self) -> str | None:
        if self.token is None or not self.token.get_secret_value():
            return None
        return token_digest(self.token.get_secret_value())
