"""No secret in any configuration error, log line or report, whatever name or source it came under."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli.main import app
from configs import render
from configs.loading import load_settings
from core.errors import ConfigError

SECRET = "s3cr3t-value-7f1d"
ENV_CASES = {
    # right names: accepted and redacted
    "RAYDESK_CREDENTIALS__ALPACA__API_SECRET": "ok",
    "RAYDESK_NOTIFICATIONS__SMTP__PASSWORD": "needs-smtp",
    "SLACK_WEBHOOK_URL": "ok-url",
    # wrong names: refused without echoing the value
    "RAYDESK_ACCOUNTS__0__API_SECRET": "error",
    "RAYDESK_CREDENTIALS__ALPACA__API_SCRET": "error",
    "RAYDESK_CREDENTIALS__ALPACA": "error",
    "RAYDESK_NOTIFICATIONS__WEBHOOKS": "error",
    "RAYDESK_SERVE": "error",
}


def value_for(name: str) -> str:
    if name in ("SLACK_WEBHOOK_URL",):
        return f"https://hooks.example.test/services/{SECRET}"
    if name == "RAYDESK_NOTIFICATIONS__WEBHOOKS":
        return f'[{{"url": "https://hooks.example.test/{SECRET}", "min_severty": "info"}}]'
    if name == "RAYDESK_CREDENTIALS__ALPACA":
        return f'{{"api_secret": "{SECRET}", "api_kye": "{SECRET}"}}'
    if name == "RAYDESK_SERVE":
        return f"not json {SECRET}"
    return SECRET


def outputs(env: dict[str, str], secrets: Path | None = None, config: Path | None = None) -> list[str]:
    """The error (if any) and, when it loads, every report of the settings."""
    try:
        settings = load_settings(env=env, secrets_dir=secrets, config_file=config)
    except ConfigError as exc:
        return [str(exc)]
    return [render(settings, "toml"), render(settings, "json"), repr(settings), str(settings.redacted_dict())]


@pytest.mark.parametrize("name", sorted(ENV_CASES))
def test_environment_secrets_never_echoed(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts = outputs({name: value_for(name)})
    if ENV_CASES[name] == "error":
        assert len(texts) == 1 and name in texts[0]  # names the variable, not its value
    for text in [*texts, caplog.text]:
        assert SECRET not in text


def test_the_message_still_names_field_and_source() -> None:
    [text] = outputs({"RAYDESK_ACCOUNTS__0__API_SECRET": SECRET})
    assert "accounts" in text and "environment variable RAYDESK_ACCOUNTS__0__API_SECRET" in text
    [text] = outputs({"RAYDESK_CREDENTIALS__ALPACA__API_SCRET": SECRET})
    assert "credentials.alpaca.api_scret" in text and "value not shown" in text


@pytest.mark.parametrize(
    "file_name",
    [
        "RAYDESK_CREDENTIALS__ALPACA__API_SECRET",  # right
        "RAYDESK_CREDENTIALS__ALPACA__API_SCRET",  # wrong
        "RAYDESK_ACCOUNTS__0__API_SECRET",  # wrong
        "RAYDESK_CREDENTIALS",  # wrong: a table that is not JSON
    ],
)
def test_secret_files_never_echoed(tmp_path: Path, file_name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / file_name).write_text(SECRET)
    for text in [*outputs({}, secrets=tmp_path), caplog.text]:
        assert SECRET not in text


@pytest.mark.parametrize(
    "toml",
    [
        f'[credentials.alpaca]\napi_secret = "{SECRET}"\n',  # right name, wrong source
        f'[credentials.alpaca]\napi_scret = "{SECRET}"\n',  # wrong name
        f'[notifications.smtp]\npassword = "{SECRET}"\nsender = "a@b.c"\nrecipients = ["x@y.z"]\n',
        f'[[accounts]]\nid = "a"\nbroker = "sim"\nstrategies = ["trident"]\napi_secret = "{SECRET}"\n',
        f'accounts = {{ "0" = {{ api_secret = "{SECRET}" }} }}\n',
        f'[[notifications.webhooks]]\nurl = "https://h/{SECRET}"\n',
        f'token = "{SECRET}"\n',
    ],
)
def test_config_file_secrets_never_echoed(
    tmp_path: Path, toml: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = tmp_path / "desk.toml"
    config.write_text(toml)
    texts = outputs({}, config=config)
    assert len(texts) == 1  # every one of them is refused
    for text in [*texts, caplog.text]:
        assert SECRET not in text


def test_config_show_prints_no_secret(tmp_path: Path) -> None:
    runner = CliRunner()
    for env in (
        {"RAYDESK_ACCOUNTS__0__API_SECRET": SECRET},
        {"RAYDESK_CREDENTIALS__ALPACA__API_SECRET": SECRET, "SLACK_WEBHOOK_URL": f"https://h/{SECRET}"},
    ):
        result = runner.invoke(app, ["config", "show"], env=env)
        assert SECRET not in result.output
        assert SECRET not in (result.stderr if result.stderr_bytes is not None else "")
