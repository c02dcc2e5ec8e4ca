"""``ScoreModel``: a LightGBM binary classifier that scores feature rows for a strategy.

Objective: binary log-loss on ``training.dataset``'s ``label`` (by default: does the close
rise over the next ``horizon`` bars). The score is the predicted probability of a rise, so it
is directly usable by both strategies in both directions: a long needs
``score >= 0.5 + threshold``, a short ``score <= 0.5 - threshold`` (the threshold is tuned).
A probability is also comparable across symbols and refits, unlike a regression output.

Training is deterministic: ``deterministic=True``, a fixed ``seed``, fixed ``num_threads``
and ``force_col_wise``, no bagging. The artifact (``to_bytes``) is a JSON header (features,
their ``feature_set_hash``, params) followed by LightGBM's ``model_to_string``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl

from core.features import FeatureSetName, feature_set_hash

__all__ = ["ModelParams", "ScoreModel"]

_SEPARATOR = b"\n---lightgbm---\n"


@dataclass(frozen=True, slots=True)
class ModelParams:
    """LightGBM hyper-parameters (the tuned ones first) and the execution knobs."""

    num_leaves: int = 15
    learning_rate: float = 0.05
    min_data_in_leaf: int = 200
    feature_fraction: float = 0.9
    n_estimators: int = 100
    seed: int = 7
    num_threads: int = 1

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides: Any) -> ModelParams:
        """The params named in a Tune ``config`` (other keys ignored), then ``overrides``."""
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in config.items() if k in names}
        values.update(overrides)
        for key in ("num_leaves", "min_data_in_leaf", "n_estimators", "seed", "num_threads"):
            if key in values:
                values[key] = int(values[key])
        return cls(**values)


@dataclass(frozen=True)
class ScoreModel:
    """A trained booster plus the features it reads, in order."""

    booster: lgb.Booster
    features: tuple[str, ...]
    feature_set: FeatureSetName
    params: ModelParams

    @property
    def feature_hash(self) -> str:
        return feature_set_hash(self.features, self.feature_set)

    @classmethod
    def train(
        cls,
        frame: pl.DataFrame,
        features: Sequence[str],
        feature_set: FeatureSetName,
        params: ModelParams,
        label: str = "label",
    ) -> ScoreModel:
        """Fit on the rows of ``frame`` whose ``label`` is known (NaN features are allowed)."""
        rows = frame.filter(pl.col(label).is_not_null())
        if rows.height == 0 or rows[label].n_unique() < 2:
            raise ValueError("training rows need both label classes")
        data = lgb.Dataset(
            _matrix(rows, features),
            label=rows[label].to_numpy().astype(np.float64),
            feature_name=list(features),
            free_raw_data=True,
            params={"verbosity": -1},
        )
        booster = lgb.train(params.lgb_params(), data, num_boost_round=params.n_estimators)
        return cls(booster, tuple(features), feature_set, params)

    def predict(self, frame: pl.DataFrame) -> npt.NDArray[np.float64]:
        """P(label = 1) per row of ``frame``."""
        if frame.height == 0:
            return np.empty(0, dtype=np.float64)
        out = self.booster.predict(_matrix(frame, self.features), num_threads=self.params.num_threads)
        return np.asarray(out, dtype=np.float64)

    def score_fn(self) -> Any:
        """A ``score_fn`` for the strategies: feature frame in, scores out."""
        return lambda features: pl.Series("score", self.predict(features))

    def metadata(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "feature_set": self.feature_set,
            "feature_hash": self.feature_hash,
            "params": asdict(self.params),
            "objective": "binary",
        }

    def to_bytes(self) -> bytes:
        header = json.dumps(self.metadata(), sort_keys=True).encode()
        return header + _SEPARATOR + self.booster.model_to_string().encode()

    @classmethod
    def from_bytes(cls, blob: bytes) -> ScoreModel:
        header, _, text = blob.partition(_SEPARATOR)
        meta = json.loads(header)
        booster = lgb.Booster(model_str=text.decode())
        model = cls(booster, tuple(meta["features"]), meta["feature_set"], ModelParams(**meta["params"]))
        if model.feature_hash != meta["feature_hash"]:
            raise ValueError("feature definitions changed since this model was trained")
        return model


def _matrix(frame: pl.DataFrame, features: Sequence[str]) -> npt.NDArray[np.float64]:
    return frame.select(pl.col(list(features)).cast(pl.Float64).fill_nan(None)).to_numpy().astype(np.float64)
