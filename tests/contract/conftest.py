"""One ``venue`` fixture, parametrized over every adapter in ``VENUE_FACTORIES``."""

from __future__ import annotations

import pytest

from tests.contract.venues import VENUE_FACTORIES, Venue


@pytest.fixture(params=sorted(VENUE_FACTORIES))
def venue(request: pytest.FixtureRequest) -> Venue:
    return VENUE_FACTORIES[request.param]()
