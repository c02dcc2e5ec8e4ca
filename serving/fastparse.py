"""A fast path for large bodies: polars parses ``{"rows": [...]}`` straight into a float64 matrix.

Python's ``json`` spends most of a 1,000-row request turning text into floats and dicts; polars
(simd-json, Rust float parsing) does it several times faster. The fast path only ever *accepts*
a body that ``parse_body`` + ``rows_matrix`` would accept with the same matrix; anything else
(any doubt) returns ``None`` and the strict path answers, with its field-naming errors.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["FAST_MIN_BYTES", "fast_matrix"]

FAST_MIN_BYTES = 16 * 1024
"""Smaller bodies go the ``json`` way (faster for a few rows)."""

_NUMERIC = (pl.Float64, pl.Int64)
_JSON_SPACE = b" \t\r\n"
_STRING = re.compile(rb'"[^"\\]*"')
_NUMBER_AND_PUNCTUATION = b"0123456789+-.eE{}[],:" + _JSON_SPACE


def fast_matrix(
    body: bytes, features: Sequence[str], feature_set: frozenset[str], max_rows: int
) -> npt.NDArray[np.float64] | None:
    """The ``(n, len(features))`` matrix of ``body``, or None to let the strict path decide."""
    if not body.lstrip(_JSON_SPACE).startswith(b"{"):  # polars also reads a list of records
        return None
    # Outside the keys only numbers may appear: polars would widen true/false to integers.
    if _STRING.sub(b"", body).translate(None, _NUMBER_AND_PUNCTUATION):
        return None
    try:
        frame = pl.read_json(io.BytesIO(body), infer_schema_length=None)
    except Exception:  # not JSON, or a shape polars cannot type: the strict path explains
        return None
    if frame.columns != ["rows"] or frame.height != 1:
        return None
    dtype = frame.schema["rows"]
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
        return None
    fields = dtype.inner.fields
    if len(fields) != len(features) or {f.name for f in fields} != feature_set:
        return None
    if not all(f.dtype in _NUMERIC for f in fields):  # no bools, strings, nulls, nested values
        return None
    table = frame.get_column("rows").explode().struct.unnest()
    n = table.height
    # Every row has every feature (no nulls) and nothing else: each key is one quoted string,
    # so a duplicate key (json keeps the last, polars the first) or any other string shows here.
    if not 1 <= n <= max_rows or table.null_count().sum_horizontal().item() != 0:
        return None
    if body.count(b'"') != 2 * (1 + n * len(features)):
        return None
    matrix = np.ascontiguousarray(table.select(list(features)).to_numpy(), dtype=np.float64)
    if matrix.shape != (n, len(features)) or not np.isfinite(matrix).all():
        return None
    return matrix
