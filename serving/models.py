"""Loaded models: a LightGBM booster with the registry version and features it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from core.errors import DataError
from training.registry import ModelRegistry, ModelVersion

__all__ = ["LoadedModel", "load_model"]


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """One strategy's model, immutable once loaded; a request holds it for its whole life."""

    strategy: str
    version: str
    features: tuple[str, ...]
    metrics: Mapping[str, Any]
    promoted_at: datetime | None
    booster: lgb.Booster = field(repr=False)
    feature_set: frozenset[str] = field(init=False, repr=False)
    features_json: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_set", frozenset(self.features))
        object.__setattr__(self, "features_json", list(self.features))

    def predict(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Scores of ``matrix`` (rows in ``features`` order); one thread, the replica is the unit of scale."""
        out = self.booster.predict(matrix, num_threads=1)
        return np.asarray(out, dtype=np.float64).reshape(len(matrix), -1)[:, 0]


def load_model(registry: ModelRegistry, version: ModelVersion) -> LoadedModel:
    """Load and check a registered LightGBM model (text artifact)."""
    text = registry.load_artifact(version).decode()
    try:
        booster = lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise DataError(f"{version.strategy} {version.version}: not a LightGBM model: {exc}") from exc
    names = booster.feature_name()
    if booster.num_feature() != len(version.features):
        raise DataError(
            f"{version.strategy} {version.version}: model has {booster.num_feature()} features, "
            f"registry lists {len(version.features)}"
        )
    generic = [f"Column_{i}" for i in range(len(names))]
    if names not in (list(version.features), generic):
        raise DataError(
            f"{version.strategy} {version.version}: model feature names differ from the registry's"
        )
    return LoadedModel(
        strategy=version.strategy,
        version=version.version,
        features=tuple(version.features),
        metrics=dict(version.metrics),
        promoted_at=version.promoted_at,
        booster=booster,
    )
