"""The configuration layers (pydantic-settings sources) and where each value came from.

Precedence, highest first: explicit arguments > ``RAYDESK_*`` environment variables > secret
files > the user config file > the profile TOML > model defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource
from pydantic_settings.sources import NestedSecretsSettingsSource, SecretsSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from core.errors import ConfigError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = [
    "ENV_PREFIX",
    "PROFILES_DIR",
    "LoadContext",
    "available_profiles",
    "current_context",
    "is_secret_path",
    "read_toml",
    "shows_input",
    "using_context",
]

ENV_PREFIX = "RAYDESK_"
NESTED = "__"
PROFILES_DIR = Path(__file__).parent / "profiles"
# Short spellings kept for convenience; they mean the same as the nested variable.
ENV_ALIASES = {
    "RAYDESK_REDIS_URL": "RAYDESK_REDIS__URL",
    "SLACK_WEBHOOK_URL": "RAYDESK_NOTIFICATIONS__SLACK_WEBHOOK_URL",  # seed 001's variable
}
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Loc = tuple[str | int, ...]


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def available_profiles() -> list[str]:
    """Names of the profiles shipped in ``configs/profiles``."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


@dataclass(frozen=True)
class LoadContext:
    """Everything one settings resolution reads besides explicit arguments."""

    profile: str = "default"
    environ: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    secrets_dir: Path | None = None

    @classmethod
    def resolve(
        cls,
        profile: str | None,
        config_file: Path | None,
        environ: Mapping[str, str],
        secrets_dir: Path | None,
    ) -> LoadContext:
        """Fill what was not given from ``RAYDESK_PROFILE/CONFIG/SECRETS_DIR``."""
        name = profile or environ.get("RAYDESK_PROFILE") or "default"
        if not _PROFILE_NAME.match(name) or not (PROFILES_DIR / f"{name}.toml").is_file():
            raise ConfigError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
        user = config_file or _path_or_none(environ.get("RAYDESK_CONFIG"))
        secrets = secrets_dir or _path_or_none(environ.get("RAYDESK_SECRETS_DIR"))
        if secrets is not None and not secrets.is_dir():
            raise ConfigError(f"secrets directory {secrets} does not exist or is not a directory")
        return cls(name, dict(environ), user, secrets)

    @property
    def profile_file(self) -> Path:
        return PROFILES_DIR / f"{self.profile}.toml"

    # -- layers --------------------------------------------------------------------------
    def sources(
        self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The pydantic-settings sources in precedence order (highest first)."""
        layers: list[PydanticBaseSettingsSource] = [init, _MappingEnvSource(settings_cls, self)]
        if self.secrets_dir is not None:
            layers.append(_secrets_source(settings_cls, self.secrets_dir))
        if self.config_file is not None:
            layers.append(_DictSource(settings_cls, read_toml(self.config_file, settings_cls)))
        layers.append(_DictSource(settings_cls, read_toml(self.profile_file, settings_cls)))
        return tuple(layers)

    def env_vars(self) -> dict[str, str]:
        """``RAYDESK_*`` variables, upper-cased, with aliases expanded."""
        found = {
            k.upper(): v
            for k, v in self.environ.items()
            if k.upper().startswith(ENV_PREFIX) or k.upper() in ENV_ALIASES
        }
        for short, nested in ENV_ALIASES.items():
            if short in found and nested not in found:
                found[nested] = found[short]
            if not short.startswith(ENV_PREFIX):
                found.pop(short, None)
        return found

    def origin(self, loc: Loc, init_kwargs: Mapping[str, Any]) -> str:
        """Which layer supplied the value at ``loc`` (for error messages)."""
        if _owns(init_kwargs, loc):
            return "explicit argument"
        env = _longest_prefix(list(self.environ), loc)
        if env is not None:
            return f"environment variable {env.upper()}"
        if self.secrets_dir is not None and self.secrets_dir.is_dir():
            names = [p.name for p in self.secrets_dir.iterdir() if p.is_file()]
            secret = _longest_prefix(names, loc)
            if secret is not None:
                return f"secret file {self.secrets_dir / secret}"
        if self.config_file is not None and _owns(_quiet_toml(self.config_file), loc):
            return f"config file {self.config_file}"
        if _owns(_quiet_toml(self.profile_file), loc):
            return f"profile {self.profile!r} ({self.profile_file})"
        return "default value"


_context: ContextVar[LoadContext | None] = ContextVar("raydesk_load_context", default=None)


def current_context() -> LoadContext:
    """The context set by the loader, or one read from ``os.environ``."""
    ctx = _context.get()
    return ctx if ctx is not None else LoadContext.resolve(None, None, os.environ, None)


class using_context:  # lower case: used like a function, ``with using_context(ctx):``
    """Make ``ctx`` the context of settings built inside the ``with`` block."""

    def __init__(self, ctx: LoadContext) -> None:
        self._ctx = ctx

    def __enter__(self) -> LoadContext:
        self._token = _context.set(self._ctx)
        return self._ctx

    def __exit__(self, *exc: object) -> None:
        _context.reset(self._token)


# -- sources ---------------------------------------------------------------------------
class _MappingEnvSource(EnvSettingsSource):
    """Environment variables from an explicit mapping (``os.environ`` by default)."""

    def __init__(self, settings_cls: type[BaseSettings], ctx: LoadContext) -> None:
        self._mapping = ctx.env_vars()
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._mapping, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _secrets_source(settings_cls: type[BaseSettings], secrets_dir: Path) -> PydanticBaseSettingsSource:
    # Secret files are named like the environment variable they stand for.
    return NestedSecretsSettingsSource(
        SecretsSettingsSource(settings_cls),
        secrets_dir=secrets_dir,
        secrets_dir_missing="error",
        secrets_prefix=ENV_PREFIX,
        secrets_nested_delimiter=NESTED,
    )


class _DictSource(PydanticBaseSettingsSource):
    """A parsed TOML file. Unknown keys are kept so validation can reject them by name."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


# -- TOML ------------------------------------------------------------------------------
def read_toml(path: Path, model: type[BaseModel]) -> dict[str, Any]:
    """Parse a config file; refuse malformed TOML and secrets (both naming the file)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message carries the position: "... (at line 3, column 7)".
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    secrets = list(_secret_keys(model, data, ()))
    if secrets:
        names = ", ".join(".".join(map(str, loc)) for loc in secrets)
        raise ConfigError(
            f"config file {path} contains secret value(s) {names}: secrets must come from "
            f"the environment ({ENV_PREFIX}...) or secret files, never from a config file"
        )
    return data


def _quiet_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


# -- schema walking --------------------------------------------------------------------
def _members(annotation: Any) -> tuple[Any, ...]:
    """The types inside ``X | None``, ``list[X]``, ``Annotated[X, ...]`` and the like."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType) or origin in (list, tuple, set, frozenset, Sequence):
        return tuple(m for arg in get_args(annotation) for m in _members(arg))
    if hasattr(annotation, "__metadata__"):
        return _members(get_args(annotation)[0])
    return (annotation,)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _secret_keys(model: type[BaseModel], data: Any, loc: Loc) -> Iterator[Loc]:
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            continue
        members = _members(info.annotation)
        if SecretStr in members:
            yield (*loc, key)
            continue
        for sub in filter(_is_model, members):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    yield from _secret_keys(sub, item, (*loc, key, i))
            else:
                yield from _secret_keys(sub, value, (*loc, key))


def _walk(model: type[BaseModel], loc: Loc) -> Iterator[tuple[Any, ...]]:
    """The member types of each named step of ``loc`` (list indices skipped); an empty tuple
    for a step no field of the schema matches."""
    current: tuple[Any, ...] = (model,)
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[Any] = []
        for tp in filter(_is_model, current):
            info = tp.model_fields.get(part)
            if info is not None:
                nxt.extend(_members(info.annotation))
        current = tuple(nxt)
        yield current


def is_secret_path(model: type[BaseModel], loc: Loc) -> bool:
    """Whether ``loc`` names a ``SecretStr`` field of ``model`` (or lies inside one)."""
    return any(SecretStr in step for step in _walk(model, loc))


_SHOWN_SCALARS = (bool, int, float, str)


def shows_input(model: type[BaseModel], loc: Loc, value: Any) -> bool:
    """Whether an error may echo ``value`` found at ``loc``: only a scalar of a known field
    that cannot hold a secret. A table, a list, an unknown (misspelt) key or anything under a
    secret could carry a secret typed under the wrong name, so it is never shown."""
    if not isinstance(value, _SHOWN_SCALARS) or not loc:
        return False
    last: tuple[Any, ...] = ()
    for step in _walk(model, loc):
        if not step or SecretStr in step:
            return False
        last = step
    return bool(last) and not any(_is_model(tp) for tp in last)


# -- origin lookup ---------------------------------------------------------------------
def _owns(data: Any, loc: Loc) -> bool:
    """Whether a layer's data supplies ``loc``: a list replaces wholesale, so it owns below."""
    node = data
    for part in loc:
        if isinstance(node, list):
            return True
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        else:
            return False
    return True


def _longest_prefix(names: Sequence[str], loc: Loc) -> str | None:
    """The variable (or file) name whose nested path is the longest prefix of ``loc``."""
    target = [str(p).lower() for p in loc]
    best: tuple[int, str] | None = None
    for name in names:
        upper = name.upper()
        canonical = ENV_ALIASES.get(upper, upper)
        if not canonical.startswith(ENV_PREFIX):
            continue
        parts = canonical[len(ENV_PREFIX) :].lower().split(NESTED)
        # A variable above ``loc`` supplies it; so does one nested below it (a table built
        # from ``X__0__Y`` variables fails as a whole at ``X``).
        supplies = parts == target[: len(parts)] or parts[: len(target)] == target
        if supplies and (best is None or len(parts) > best[0]):
            best = (len(parts), name)
    return None if best is None else best[1]
