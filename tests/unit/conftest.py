"""Unit tests run without Ray: any attempt to start it fails loudly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import sys

    ray = sys.modules.get("ray")
    if ray is not None:

        def _refuse(*args: object, **kwargs: object) -> None:
            raise RuntimeError("unit tests must not start Ray; use tests/integration")

        monkeypatch.setattr(ray, "init", _refuse)
    yield
