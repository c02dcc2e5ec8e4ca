"""The TWS API socket framing: a 4-byte big-endian length, then NUL-terminated text fields.

The client opens with ``API\\0`` and one framed ``v<min>..<max>`` (no trailing NUL); the server
answers one framed message of two fields, its version and its connection time.
"""

from __future__ import annotations

import asyncio
import struct
from decimal import Decimal

SERVER_VERSION = 178
"""The highest text-protocol version ib_async 2.1 speaks; the fake never offers more."""

Field = str | int | float | Decimal | bool | None


def text(value: Field) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return str(value)


def frame(*fields: Field) -> bytes:
    """One message: every field NUL-terminated, the whole prefixed by its length."""
    payload = "".join(text(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The payload of the next framed message (``IncompleteReadError`` at end of stream)."""
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    return await reader.readexactly(size)


def fields_of(payload: bytes) -> list[str]:
    parts = payload.decode(errors="backslashreplace").split("\0")
    return parts[:-1] if parts and parts[-1] == "" else parts


async def read_handshake(reader: asyncio.StreamReader) -> tuple[int, int]:
    """The client's ``API\\0`` and version range; ``ValueError`` for anything else."""
    if await reader.readexactly(4) != b"API\0":
        raise ValueError("not a TWS API client: expected API\\0")
    versions = (await read_frame(reader)).decode().split(" ", 1)[0]
    low, _, high = versions.lstrip("v").partition("..")
    return int(low), int(high or low)


class FieldReader:
    """Walks the fields of one request in order."""

    def __init__(self, fields: list[str]) -> None:
        self._fields = fields
        self._at = 0

    def next_str(self) -> str:
        value = self._fields[self._at] if self._at < len(self._fields) else ""
        self._at += 1
        return value

    def next_int(self) -> int:
        value = self.next_str()
        return int(value) if value else 0

    def next_float(self) -> float:
        value = self.next_str()
        return float(value) if value else 0.0

    def skip(self, count: int) -> None:
        self._at += count
