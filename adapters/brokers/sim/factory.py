"""``open_clients`` of the simulated exchange: the account's durable venue behind the ports.

The venue lives at ``<account_dir>/venue.sqlite3`` (reopened after a crash with every order and
fill) and is funded with the account's bankroll. ``open_venue`` is also how another venue's
broker simulator gets the exchange it serves (``raydesk demo --venue alpaca-sim``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.brokers.factory import BrokerClients, BrokerContext
from adapters.brokers.sim.config import FillOn, SimExchangeConfig
from adapters.brokers.sim.exchange import SimExchange
from adapters.brokers.sim.execution import SimExecutionClient
from adapters.brokers.sim.feed import SimVenueFeed
from core.calendar import MarketCalendar
from core.clock import Clock
from core.model import AccountId, Money

VENUE_FILE = "venue.sqlite3"


def open_venue(path: Path, account_id: AccountId, cash: Decimal, clock: Clock) -> SimExchange:
    """The account's durable simulated exchange (reopened if it exists), account funded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    calendar = MarketCalendar()
    # Filled on quotes, as a live broker fills: each symbol gets one quote per minute, which
    # makes a re-sent bar event recognisable by the quote's timestamp. fsync guards against
    # power cuts only; a killed process loses nothing the kernel already holds. Fill ids carry
    # the account id: every account's venue numbers its fills from 1 into one shared ledger.
    config = SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False, account_fill_ids=True)
    opener = SimExchange.open if path.exists() else _new_exchange
    venue = opener(path, config, clock, is_open=calendar.is_open, session_close=calendar.next_close)
    venue.open_account(account_id, Money(cash), margin=True)
    return venue


def _new_exchange(path: Path, config: SimExchangeConfig, clock: Clock, **kwargs: Any) -> SimExchange:
    return SimExchange(config, clock, path, **kwargs)


def open_clients(context: BrokerContext) -> BrokerClients:
    """The simulated exchange of ``context.account`` as its execution client and venue feed."""
    account = AccountId(context.account.id)
    venue = open_venue(
        context.account_dir / VENUE_FILE, account, Decimal(context.account.bankroll), context.clock
    )
    return BrokerClients(
        SimExecutionClient(venue, account), closers=(venue.close,), venue=SimVenueFeed(venue)
    )
