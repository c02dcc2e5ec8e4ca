"""Strict, fast validation of scoring requests into a float64 feature matrix (no pydantic on the hot path).

Every failure is a ``RowsInvalid`` naming the offending field, e.g. ``rows[3].rsi_14``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RowsInvalid", "parse_body", "rows_matrix"]

Matrix = npt.NDArray[np.float64]


class RowsInvalid(ValueError):
    """A request body or row that cannot be scored; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_body(body: bytes, max_bytes: int) -> Any:
    """The ``rows`` of a JSON body ``{"rows": [...]}``."""
    if len(body) > max_bytes:
        raise RowsInvalid("body", f"larger than {max_bytes} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RowsInvalid("body", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RowsInvalid("body", 'must be a JSON object {"rows": [...]}')
    extra = sorted(k for k in doc if k != "rows")
    if extra:
        raise RowsInvalid(_name(extra[0]), "unknown field; the body has only 'rows'")
    if "rows" not in doc:
        raise RowsInvalid("rows", "missing")
    return doc["rows"]


def rows_matrix(rows: Any, features: Sequence[str], feature_set: frozenset[str], max_rows: int) -> Matrix:
    """``rows`` (a list of ``{feature: number}``) as an ``(n, len(features))`` matrix in model order.

    Each row must have exactly the model's features, each a finite JSON number (not a boolean).
    """
    if not isinstance(rows, list | tuple):
        raise RowsInvalid("rows", "must be a list of objects")
    if not rows:
        raise RowsInvalid("rows", "must not be empty")
    if len(rows) > max_rows:
        raise RowsInvalid("rows", f"{len(rows)} rows is more than the limit of {max_rows} per request")
    width = len(features)
    values: list[Any] = []
    extend = values.extend
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RowsInvalid(f"rows[{i}]", "must be an object of feature: number")
        if len(row) != width or row.keys() != feature_set:
            _explain_keys(i, row, features, feature_set)
        extend([row[f] for f in features])
    for k, v in enumerate(values):
        t = type(v)
        if t is not float and t is not int:
            _raise_value(k, v, features, "must be a number")
    try:
        matrix = np.array(values, dtype=np.float64).reshape(len(rows), width)
    except OverflowError:
        bad = next(k for k, v in enumerate(values) if type(v) is int and not _fits(v))
        _raise_value(bad, values[bad], features, "is out of the float64 range")
    finite = np.isfinite(matrix)
    if not finite.all():
        bad = int(np.argmin(finite.ravel()))
        _raise_value(bad, values[bad], features, "must be finite (no NaN or infinity)")
    return matrix


def _name(key: str) -> str:
    """A key as it can be shown in a field path (quoted when empty or odd)."""
    return key if key.isidentifier() else json.dumps(key)


def _fits(v: int) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _explain_keys(i: int, row: dict[Any, Any], features: Sequence[str], feature_set: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in row if k not in feature_set)
    if unknown:
        raise RowsInvalid(
            f"rows[{i}].{_name(unknown[0])}", f"unknown feature; expected {', '.join(features)}"
        )
    missing = [f for f in features if f not in row]
    raise RowsInvalid(f"rows[{i}].{missing[0]}", "missing feature")


def _raise_value(k: int, v: Any, features: Sequence[str], why: str) -> Any:
    i, j = divmod(k, len(features))
    shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
    raise RowsInvalid(f"rows[{i}].{features[j]}", f"{why}, got {shown}")
