"""``load_settings``: the one way to build ``Settings``, with errors that say what and where."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from configs.accounts import live_trading_allowed
from configs.settings import REDACTED, Settings
from configs.sources import ENV_PREFIX, LoadContext, is_secret_path, shows_input, using_context
from core.errors import ConfigError

__all__ = ["load_settings"]


def load_settings(
    profile: str | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    secrets_dir: Path | None = None,
    *,
    allow_live: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve the settings of ``profile`` (default: ``RAYDESK_PROFILE``, else ``"default"``).

    Precedence, highest first: ``overrides`` > ``RAYDESK_*`` environment variables (nested
    with ``__``) > secret files in ``secrets_dir`` (default ``RAYDESK_SECRETS_DIR``) > the
    user ``config_file`` (default ``RAYDESK_CONFIG``) > the profile TOML > model defaults.
    ``env`` replaces ``os.environ``. An account in live mode needs ``allow_live=True`` and
    its broker's credentials. Every failure raises ``ConfigError``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    ctx = LoadContext.resolve(profile, config_file, environ, secrets_dir)
    kwargs = dict(overrides or {})
    with using_context(ctx), live_trading_allowed(allow_live):
        try:
            settings = Settings(**kwargs)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, ctx, kwargs)) from None
        except SettingsError as exc:
            raise ConfigError(_describe_parse_error(exc, ctx)) from None
    _check_live_credentials(settings)
    return settings


def _describe(exc: ValidationError, ctx: LoadContext, kwargs: Mapping[str, Any]) -> str:
    errors = exc.errors(include_url=False)
    lines = [f"invalid configuration (profile {ctx.profile!r}), {len(errors)} error(s):"]
    lines.extend(f"  {_describe_one(err, ctx, kwargs)}" for err in errors)
    return "\n".join(lines)


def _describe_one(err: ErrorDetails, ctx: LoadContext, kwargs: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    path = ".".join(str(p) for p in loc) or "(settings)"
    origin = ctx.origin(loc, kwargs)
    if err["type"] == "missing":
        # The field is absent, so name where its table came from.
        return f"{path}: required field is missing (in {ctx.origin(loc[:-1], kwargs) if loc else origin})"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        # A misspelt key is the likeliest place for a secret under a wrong name.
        return f"{path}: {message} (unknown setting; value not shown) (from {origin})"
    value = err.get("input")
    if is_secret_path(Settings, loc):
        shown = REDACTED
    elif shows_input(Settings, loc, value):
        shown = _short(value)
    else:
        shown = f"<{_kind_of(value)}, not shown>"
    return f"{path} = {shown}: {message} (from {origin})"


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return "a value"


def _describe_parse_error(exc: SettingsError, ctx: LoadContext) -> str:
    # pydantic-settings says: error parsing value for field "x" from source "Y".
    found = re.search(r'field "(\w+)" from source "(\w+)"', str(exc))
    if found is None:
        # The parser's message may quote the input: name the failure, not the text.
        return f"invalid configuration (profile {ctx.profile!r}): a value could not be parsed ({type(exc).__name__})"
    name = ENV_PREFIX + found.group(1).upper()
    where = (
        f"environment variable {name}"
        if found.group(2) == "_MappingEnvSource"
        else f"secret file {ctx.secrets_dir}/{name}"
    )
    return f"{found.group(1)}: the value of {where} is not valid JSON (lists and tables are JSON)"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_live_credentials(settings: Settings) -> None:
    problems: list[str] = []
    for i, account in enumerate(settings.accounts):
        if account.mode != "live":
            continue
        for name in settings.credentials.missing_for(account.broker):
            env = "RAYDESK_CREDENTIALS__" + name.replace(".", "__").upper()
            problems.append(
                f"accounts.{i} ({account.id!r}) trades live on {account.broker} but "
                f"credentials.{name} is not set (environment variable {env} or a secret "
                f"file of that name)"
            )
    if problems:
        raise ConfigError("live trading without credentials:\n  " + "\n  ".join(problems))
