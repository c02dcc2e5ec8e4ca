"""The scoring logic of a replica, without Ray or HTTP: state, auth, routing, replies.

``ServingState`` is immutable; a reconfigure builds a new one and swaps one reference, and each
request reads that reference once, so it finishes on the model it started with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from core.clock import LiveClock
from serving.config import ServingConfig
from serving.models import LoadedModel, load_model
from training.registry import ModelRegistry

__all__ = [
    "Reply",
    "ServingState",
    "authorize",
    "error",
    "list_models",
    "next_state",
    "readiness",
    "resolve",
    "scored",
]


class Reply(NamedTuple):
    status: int
    body: dict[str, Any]

    def encode(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def error(status: int, code: str, message: str, fields: Iterable[tuple[str, str]] = ()) -> Reply:
    return Reply(
        status, {"error": code, "message": message, "fields": [{"field": f, "message": m} for f, m in fields]}
    )


@dataclass(frozen=True)
class ServingState:
    """What a replica serves right now."""

    config: ServingConfig
    models: Mapping[str, LoadedModel] = field(default_factory=dict)
    load_errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> ServingState:
        return cls(ServingConfig(registry_root="", strategies=()))

    @property
    def token_bytes(self) -> bytes | None:
        digest = self.config.token_sha256
        return digest.encode() if digest else None


def next_state(current: ServingState, config: ServingConfig) -> ServingState:
    """The state for ``config``: changed versions loaded; on a load failure the old model stays."""
    wanted = {s: v for s, v in config.versions.items() if s in config.strategies and v is not None}
    models: dict[str, LoadedModel] = {}
    errors: dict[str, str] = {}
    registry: ModelRegistry | None = None
    for strategy, version in wanted.items():
        have = current.models.get(strategy)
        if have is not None and have.version == version:
            models[strategy] = have
            continue
        try:
            if registry is None:
                root = Path(config.registry_root)
                if not root.is_dir():  # ModelRegistry would create it
                    raise FileNotFoundError(f"no model registry at {root}")
                registry = ModelRegistry(root, LiveClock())
            models[strategy] = load_model(registry, registry.get(strategy, version))
        except Exception as exc:  # any failure must leave the old model serving
            errors[strategy] = f"could not load {version}: {exc}"
            if have is not None:
                models[strategy] = have
    return ServingState(config, models, errors)


def authorize(state: ServingState, header: str | None) -> Reply | None:
    """None if the request may proceed, else a 401."""
    expected = state.token_bytes
    if expected is None:
        return None
    if header is not None and header[:7].lower() == "bearer ":
        presented = hashlib.sha256(header[7:].strip().encode()).hexdigest().encode()
        if hmac.compare_digest(presented, expected):
            return None
    return error(401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required")


def resolve(state: ServingState, strategy: str) -> LoadedModel | Reply:
    """The model that will answer for ``strategy``, else a 404 or 503 reply."""
    model = state.models.get(strategy)
    if model is not None:
        return model
    if strategy not in state.config.strategies:
        known = ", ".join(state.config.strategies) or "none"
        return error(404, "unknown_strategy", f"unknown strategy {strategy!r}; served strategies: {known}")
    failure = state.load_errors.get(strategy)
    if failure:
        return error(503, "no_model", f"no model loaded for {strategy!r}: {failure}")
    return error(
        503,
        "no_model",
        f"no model has been promoted for {strategy!r} yet; promote one with "
        "'raydesk models promote' (callers should fall back to the strategy's rules)",
    )


def scored(model: LoadedModel, scores: npt.NDArray[np.float64]) -> Reply:
    return Reply(
        200,
        {
            "strategy": model.strategy,
            "model_version": model.version,
            "features": model.features_json,
            "scores": scores.tolist(),
        },
    )


def list_models(state: ServingState) -> Reply:
    out = []
    for strategy in state.config.strategies:
        model = state.models.get(strategy)
        wanted = state.config.versions.get(strategy)
        out.append(
            {
                "strategy": strategy,
                "version": model.version if model else None,
                "wanted": wanted,
                "loaded": model is not None and model.version == wanted,
                "promoted_at": model.promoted_at.isoformat() if model and model.promoted_at else None,
                "features": model.features_json if model else [],
                "metrics": dict(model.metrics) if model else {},
                "error": state.load_errors.get(strategy),
            }
        )
    return Reply(200, {"models": out})


def readiness(state: ServingState) -> Reply:
    """Ready when every configured strategy with a promoted version has that version loaded."""
    waiting = {
        s: state.load_errors.get(s, f"{v} not loaded")
        for s, v in state.config.versions.items()
        if v is not None and (s not in state.models or state.models[s].version != v)
    }
    if waiting:
        return Reply(503, {"ready": False, "waiting": waiting})
    return Reply(200, {"ready": True, "versions": {s: m.version for s, m in state.models.items()}})
