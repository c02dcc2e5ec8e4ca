"""Settings of the IBKR adapter: where TWS listens, who we are, how patiently we reconnect."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from configs.accounts import IbkrConnection
from core.errors import ConfigError

ENV = {"host": "IBKR_HOST", "port": "IBKR_PORT", "client_id": "IBKR_CLIENT_ID", "account": "IBKR_ACCOUNT"}
"""The environment variables of seed 004, per ``IbkrConnection`` field."""


@dataclass(frozen=True, slots=True)
class IbkrSettings:
    """Connection plus timing. Back-off doubles from ``backoff_initial`` to ``backoff_max``
    seconds, each wait scaled by a random factor in ``1 ± jitter`` (seeded by the client id)."""

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    account: str = ""
    max_requests_per_second: int = 45
    connect_timeout: float = 4.0
    request_timeout: float = 10.0
    ack_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25

    @classmethod
    def from_connection(
        cls, connection: IbkrConnection, environ: Mapping[str, str] | None = None, **timing: float
    ) -> IbkrSettings:
        """Fields set in the settings win; the others come from ``IBKR_*`` or the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = connection.model_dump()
        for name, var in ENV.items():
            if name not in connection.model_fields_set and environ.get(var):
                values[name] = environ[var]
        try:
            checked = IbkrConnection.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "ibkr"
            raise ConfigError(
                f"credentials.ibkr.{name} (or {ENV.get(name, 'IBKR_*')}): {first['msg']}"
            ) from None
        return cls(
            checked.host,
            checked.port,
            checked.client_id,
            checked.account,
            checked.max_requests_per_second,
            **timing,
        )
