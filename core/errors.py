"""One exception tree for raydesk.

::

    RaydeskError
    ├── TemporaryError          may be retried with back-off
    │   ├── BrokerUnavailable   a connection, time-out or rate limit
    │   └── StaleData           a quote or price older than allowed
    └── PermanentError          never retried
        ├── InvalidValue        a value object refused its input (NaN, infinity, negative quantity)
        ├── InvalidSymbol       an instrument symbol that cannot be parsed
        ├── IllegalTransition   an order status change the state machine forbids
        ├── OrderRejected       the broker or the risk engine refused an order
        ├── ConfigError         configuration that fails validation
        └── DataError           market data that fails its schema or its checks
"""

from __future__ import annotations


class RaydeskError(Exception):
    """Base of every error raised by raydesk code."""


class TemporaryError(RaydeskError):
    """A failure that may succeed when retried later (with back-off)."""


class PermanentError(RaydeskError):
    """A failure that a retry cannot fix."""


class BrokerUnavailable(TemporaryError):
    """The broker could not be reached, timed out, or rate-limited the request."""


class StaleData(TemporaryError):
    """Market data is older than the configured freshness limit."""


class InvalidValue(PermanentError, ValueError):
    """A value object was given a value it cannot hold."""


class InvalidSymbol(PermanentError, ValueError):
    """An instrument symbol is malformed."""


class IllegalTransition(PermanentError):
    """An order status transition that the state machine forbids."""


class OrderRejected(PermanentError):
    """An order was refused by the risk engine or the broker."""


class ConfigError(PermanentError):
    """Configuration failed validation; the message names the field, value and source."""


class DataError(PermanentError):
    """Market data failed its schema or its sanity checks."""
