"""One ``venue`` fixture, parametrized over every adapter in ``VENUE_FACTORIES``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.venues import VENUE_FACTORIES, Venue


@pytest.fixture(params=sorted(VENUE_FACTORIES))
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    venue = VENUE_FACTORIES[request.param]()
    yield venue
    if venue.close is not None:
        venue.close()
