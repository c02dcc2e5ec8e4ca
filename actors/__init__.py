"""Thin ``@ray.remote`` shells: the account, market-data and scheduler actors.

Each actor wires core services to adapters (``wiring``, ``host``) and forwards calls; every
decision is a plain method those unit tests drive without Ray.
"""

NAMESPACE = "raydesk"
"""The Ray namespace of the desk's named actors."""
ACCOUNT_PREFIX = "account:"
MARKET_DATA_PREFIX = "market-data:"
SCHEDULER_NAME = "scheduler"


def account_actor_name(account_id: str) -> str:
    """The Ray name of the actor trading ``account_id``."""
    return f"{ACCOUNT_PREFIX}{account_id}"


def market_data_actor_name(source: str) -> str:
    return f"{MARKET_DATA_PREFIX}{source}"


__all__ = [
    "ACCOUNT_PREFIX",
    "MARKET_DATA_PREFIX",
    "SCHEDULER_NAME",
    "account_actor_name",
    "market_data_actor_name",
]
