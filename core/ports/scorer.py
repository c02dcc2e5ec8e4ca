"""The ``Scorer`` port: model scores for feature rows, with the version that produced them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Scores:
    strategy: str
    model_version: str
    scores: tuple[float, ...]
    features: tuple[str, ...]


@runtime_checkable
class Scorer(Protocol):
    def score(self, strategy: str, rows: Sequence[Mapping[str, float]]) -> Scores:
        """Scores for ``rows``; raises ``core.errors.TemporaryError`` when no model can answer."""
        ...
