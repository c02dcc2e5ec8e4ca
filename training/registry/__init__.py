"""The model registry: versioned artifacts with lineage, atomic promotion and rollback."""

from training.registry.model import ModelNotFound, ModelVersion, PromotionEvent, RegistryError
from training.registry.registry import ModelRegistry

__all__ = ["ModelNotFound", "ModelRegistry", "ModelVersion", "PromotionEvent", "RegistryError"]
