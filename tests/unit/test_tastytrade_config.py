"""Tastytrade settings: secrets as SecretStr (never shown), TT_* fallbacks, paper by default."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from adapters.brokers.tastytrade.config import TastytradeSettings
from configs.accounts import TastytradeCredentials, live_trading_allowed
from core.errors import ConfigError


def test_secrets_come_from_the_settings_or_the_sdks_environment_variables() -> None:
    creds = TastytradeCredentials(provider_secret=SecretStr("s3cret"))
    settings = TastytradeSettings.from_credentials(
        creds, environ={"TT_REFRESH": "r3fresh", "TT_ACCOUNT": "5WT1"}
    )
    assert settings.provider_secret.get_secret_value() == "s3cret"
    assert settings.refresh_token.get_secret_value() == "r3fresh" and settings.account == "5WT1"
    assert settings.live is False  # the certification (paper) environment
    assert "s3cret" not in repr(settings) and "r3fresh" not in repr(settings) and "s3cret" not in str(creds)


def test_a_missing_secret_names_the_field_and_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"credentials\.tastytrade\.refresh_token \(or TT_REFRESH\)"):
        TastytradeSettings.from_credentials(TastytradeCredentials(provider_secret=SecretStr("x")), environ={})


def test_the_production_api_needs_the_live_opt_in() -> None:
    with pytest.raises(ValidationError, match="--live"):
        TastytradeCredentials(live=True)
    with live_trading_allowed():
        assert TastytradeCredentials(live=True).live
