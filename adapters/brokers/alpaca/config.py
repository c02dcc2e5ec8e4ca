"""Settings of the Alpaca adapter: keys, endpoints (paper by default), timing of retries and streams."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from configs.accounts import AlpacaCredentials
from core.errors import ConfigError

ENV_KEY_ID = "APCA_API_KEY_ID"
ENV_SECRET_KEY = "APCA_API_SECRET_KEY"
ENV_BASE_URL = "APCA_API_BASE_URL"
"""The environment variables of seed 001 (the same names alpaca-py's own examples use)."""
PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"


@dataclass(frozen=True, slots=True)
class AlpacaSettings:
    """Keys, endpoints and timing of one Alpaca account.

    Empty URLs mean alpaca-py's defaults (paper or live by ``paper``); the overrides point the
    SDK at a local simulator. Stream reconnects wait ``backoff_initial`` doubling up to
    ``backoff_max`` seconds, each wait drawn in ``[w/2, w]`` (equal jitter). The data stream's
    watchdog reconnects after ``watchdog_seconds`` without a message while subscribed.
    """

    api_key: SecretStr
    api_secret: SecretStr
    paper: bool = True
    trading_url: str = ""
    stream_url: str = ""
    data_url: str = ""
    data_stream_url: str = ""
    feed: str = "iex"
    connect_timeout: float = 5.0
    request_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    watchdog_seconds: float = 30.0
    ready_timeout: float = 15.0

    @classmethod
    def from_credentials(
        cls,
        account_id: str,
        credentials: AlpacaCredentials,
        live: bool = False,
        label: str = "",
        /,
        *,
        environ: Mapping[str, str] | None = None,
        **timing: Any,
    ) -> AlpacaSettings:
        """Keys from the settings, else ``APCA_API_KEY_ID``/``APCA_API_SECRET_KEY``; ``live``
        is the account's mode (already opted into with ``--live``). ``ConfigError`` names the
        account (or ``label``) when a key is missing or ``APCA_API_BASE_URL`` contradicts the mode."""
        environ = os.environ if environ is None else environ
        where = label or f"accounts.{account_id}"
        key = credentials.api_key or _secret(environ.get(ENV_KEY_ID))
        secret = credentials.api_secret or _secret(environ.get(ENV_SECRET_KEY))
        missing = [
            name
            for name, value in (("api_key", key), ("api_secret", secret))
            if value is None or not value.get_secret_value()
        ]
        if missing or key is None or secret is None:
            raise ConfigError(
                f"{where}: Alpaca needs credentials.alpaca.{' and '.join(missing)} "
                f"(or {ENV_KEY_ID} / {ENV_SECRET_KEY} in the environment)"
            )
        trading_url = credentials.trading_url
        base = environ.get(ENV_BASE_URL, "").rstrip("/")
        if not trading_url and base:
            if base in (PAPER_URL, LIVE_URL):
                if (base == LIVE_URL) != live:
                    mode = "live" if live else "paper"
                    raise ConfigError(
                        f"{where}: {ENV_BASE_URL}={base} but the account trades {mode}"
                        + ("" if live else " (live needs mode = 'live' and --live)")
                    )
            else:
                trading_url = base.removesuffix("/v2")
        return cls(
            key,
            secret,
            not live,
            trading_url.rstrip("/"),
            credentials.stream_url,
            credentials.data_url.rstrip("/"),
            credentials.data_stream_url,
            credentials.feed,
            **timing,
        )


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value else None
