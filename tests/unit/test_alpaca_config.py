"""Alpaca settings: keys from the settings or ``APCA_*``, paper by default, clear errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from adapters.brokers.alpaca.config import AlpacaSettings
from configs.accounts import AlpacaCredentials, BrokerCredentials
from core.errors import ConfigError

KEYS = {"APCA_API_KEY_ID": "PK123", "APCA_API_SECRET_KEY": "s3cret-value"}


def test_keys_come_from_the_apca_environment_and_stay_secret() -> None:
    settings = AlpacaSettings.from_credentials("paper", AlpacaCredentials(), environ=KEYS)
    assert settings.api_key.get_secret_value() == "PK123" and settings.paper
    assert "s3cret-value" not in repr(settings)
    assert settings.trading_url == "" and settings.feed == "iex"


def test_keys_in_the_settings_win_over_the_environment() -> None:
    credentials = AlpacaCredentials(api_key=SecretStr("PKmine"), api_secret=SecretStr("mine"))
    settings = AlpacaSettings.from_credentials("paper", credentials, environ=KEYS)
    assert settings.api_key.get_secret_value() == "PKmine"


def test_missing_keys_name_the_account_and_the_variables() -> None:
    with pytest.raises(
        ConfigError,
        match=r"accounts\.swing: Alpaca needs credentials\.alpaca\.api_secret.*APCA_API_SECRET_KEY",
    ):
        AlpacaSettings.from_credentials("swing", AlpacaCredentials(), environ={"APCA_API_KEY_ID": "PK1"})


def test_the_seed_base_url_picks_paper_or_live_and_must_agree_with_the_mode() -> None:
    paper = KEYS | {"APCA_API_BASE_URL": "https://paper-api.alpaca.markets"}
    assert AlpacaSettings.from_credentials("a", AlpacaCredentials(), environ=paper).paper
    live = KEYS | {"APCA_API_BASE_URL": "https://api.alpaca.markets"}
    with pytest.raises(
        ConfigError, match=r"accounts\.a: APCA_API_BASE_URL=https://api\.alpaca\.markets.*--live"
    ):
        AlpacaSettings.from_credentials("a", AlpacaCredentials(), environ=live)
    assert not AlpacaSettings.from_credentials("a", AlpacaCredentials(), True, environ=live).paper
    local = KEYS | {"APCA_API_BASE_URL": "http://127.0.0.1:8123/v2"}
    assert (
        AlpacaSettings.from_credentials("a", AlpacaCredentials(), environ=local).trading_url
        == "http://127.0.0.1:8123"
    )


def test_live_credentials_check_accepts_the_apca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BrokerCredentials().missing_for("alpaca") == ["alpaca.api_key", "alpaca.api_secret"]
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    assert BrokerCredentials().missing_for("alpaca") == []
