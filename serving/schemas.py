"""Request and response schemas, for the OpenAPI document at ``/docs`` (not on the hot path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ErrorBody", "ErrorField", "ModelInfo", "ModelsResponse", "ScoreRequest", "ScoreResponse"]


class ScoreRequest(BaseModel):
    rows: list[dict[str, float]] = Field(
        min_length=1,
        description="Feature rows; each has exactly the promoted model's features, finite numbers.",
        examples=[[{"ret_5": 0.01, "rsi_14": 55.0}]],
    )


class ScoreResponse(BaseModel):
    strategy: str
    model_version: str = Field(description="The registry version that produced these scores.")
    features: list[str] = Field(description="The model's features, in model order.")
    scores: list[float] = Field(description="One score per row, in request order.")


class ErrorField(BaseModel):
    field: str = Field(description="Where, e.g. rows[3].rsi_14.")
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="invalid_request, unknown_strategy, no_model, unauthorized, ...")
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


class ModelInfo(BaseModel):
    strategy: str
    version: str | None = Field(description="The version loaded and served (None: nothing promoted).")
    wanted: str | None = Field(description="The promoted version replicas were told to serve.")
    loaded: bool
    promoted_at: datetime | None
    features: list[str]
    metrics: dict[str, Any]
    error: str | None = None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
