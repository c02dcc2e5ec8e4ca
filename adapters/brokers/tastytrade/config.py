"""Settings of the Tastytrade adapter: credentials, environment, URLs and timing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from configs.accounts import TastytradeCredentials
from core.errors import ConfigError

ENV = {"provider_secret": "TT_SECRET", "refresh_token": "TT_REFRESH", "account": "TT_ACCOUNT"}
"""Environment variables (the SDK's own names) for fields the settings leave unset."""


@dataclass(frozen=True, slots=True)
class TastytradeSettings:
    """Who we are and where the API is. ``live`` False: the certification (paper) environment.

    ``stabilise_s``: the seed's wait after subscribing before quotes are trusted.
    ``watchdog_s``: a feed silent this long (in session) is reconnected and resubscribed.
    """

    provider_secret: SecretStr = field(repr=False)
    refresh_token: SecretStr = field(repr=False)
    account: str = ""
    live: bool = False
    api_url: str = ""
    streamer_url: str = ""
    request_timeout: float = 10.0
    stabilise_s: float = 3.0
    watchdog_s: float = 60.0
    chunk_size: int = 100
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    @classmethod
    def from_credentials(
        cls, creds: TastytradeCredentials, environ: Mapping[str, str] | None = None, **timing: float
    ) -> TastytradeSettings:
        """Fields set in the credentials win; the others come from ``TT_*``; secrets are required."""
        environ = os.environ if environ is None else environ
        secret = creds.provider_secret or _env_secret(environ, "provider_secret")
        refresh = creds.refresh_token or _env_secret(environ, "refresh_token")
        for name, value in (("provider_secret", secret), ("refresh_token", refresh)):
            if value is None:
                raise ConfigError(f"credentials.tastytrade.{name} (or {ENV[name]}) is required")
        assert secret is not None and refresh is not None
        account = creds.account or environ.get(ENV["account"], "")
        return cls(
            secret,
            refresh,
            account,
            creds.live,
            creds.api_url,
            creds.streamer_url,
            **timing,  # type: ignore[arg-type]
        )


def _env_secret(environ: Mapping[str, str], name: str) -> SecretStr | None:
    value = environ.get(ENV[name])
    return SecretStr(value) if value else None
