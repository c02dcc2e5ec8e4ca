"""JSON for cache values: ``Decimal`` and value objects as exact strings, datetimes as ISO UTC."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from core.clock import ensure_utc
from core.model import Money, Price, Quantity
from core.model.identifiers import Identifier


def _default(obj: object) -> object:
    if isinstance(obj, datetime):
        return ensure_utc(obj).isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal | Money | Price | Quantity | Identifier):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in the cache: {obj!r}")


def dumps(obj: object) -> str:
    # Compact and key-sorted, so equal values are equal strings.
    return json.dumps(obj, default=_default, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text)
