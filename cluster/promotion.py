"""The desk's one promotion path: switch a strategy's served version, then refresh Serve.

``raydesk train`` (after ``train_and_promote`` promoted), ``raydesk models promote|rollback``
and the nightly retrain all end in ``refresh_served``: the running scoring app, if any, is
reconfigured to the registry's promoted versions (no dropped requests). The registry switch
stands on its own; a scoring app that is down picks the versions up when it next starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.registry import ModelRegistry, ModelVersion


@dataclass(frozen=True, slots=True)
class ServedRefresh:
    """What Serve did: the versions it now serves (``None``: no scoring app running), or why not."""

    versions: dict[str, str | None] | None = None
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"not updated ({self.error})"
        if self.versions is None:
            return "no scoring app running"
        return ", ".join(f"{k} {v}" for k, v in sorted(self.versions.items()))


def refresh_served(address: str | None = None) -> ServedRefresh:
    """Swap the registry's promoted versions into the running scoring app (through the desk's
    one Ray connection, ``actors.runtime.attach``: nothing is started when no cluster runs)."""
    from actors.runtime import attach

    if not attach(address):
        return ServedRefresh()
    try:
        from serving.deploy import refresh_after_promotion

        versions = refresh_after_promotion(address)
    except Exception as exc:  # the registry switch stands; serving catches up on its next start
        return ServedRefresh(error=f"{type(exc).__name__}: {exc}")
    return ServedRefresh(None if versions is None else dict(versions))


def promote(
    registry: ModelRegistry, strategy: str, version: str, *, force: bool = False
) -> tuple[ModelVersion, ServedRefresh]:
    """Make ``version`` the served model of ``strategy`` (gates must have passed unless ``force``)."""
    model = registry.promote(strategy, version, force=force)
    return model, refresh_served()


def rollback(registry: ModelRegistry, strategy: str) -> tuple[ModelVersion, ServedRefresh]:
    """Return ``strategy`` to the version promoted before the current one."""
    model = registry.rollback(strategy)
    return model, refresh_served()
