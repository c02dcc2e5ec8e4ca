"""Render redacted settings as TOML or JSON (for ``raydesk config show``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from configs.settings import Settings

__all__ = ["render", "to_toml"]


def render(settings: Settings, fmt: str = "toml") -> str:
    """The effective settings as ``toml`` or ``json``, secrets redacted."""
    data = settings.redacted_dict()
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "toml":
        return to_toml(data)
    raise ValueError(f"unknown format {fmt!r}; use toml or json")


def to_toml(data: Mapping[str, Any]) -> str:
    """A TOML document for JSON-like ``data``. TOML has no null: ``None`` becomes a comment."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip() + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_table(v) for v in value)


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    for key, value in data.items():
        if not _is_table(value) and not _is_table_array(value):
            if value is None:
                lines.append(f"# {_key(key)} is not set")
            else:
                lines.append(f"{_key(key)} = {_scalar(value)}")
    for key, value in data.items():
        sub = (*path, key)
        if _is_table(value):
            if not all(_is_table(v) or _is_table_array(v) for v in value.values()):
                lines.extend(["", f"[{'.'.join(map(_key, sub))}]"])
            _table(value, sub, lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{'.'.join(map(_key, sub))}]]"])
                _table(item, sub, lines)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    # json.dumps escapes a string the way a TOML basic string expects.
    return json.dumps(str(value))
