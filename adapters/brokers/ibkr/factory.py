"""``open_clients(context)`` for accounts at Interactive Brokers (see ``adapters.brokers.factory``)."""

from __future__ import annotations

from adapters.brokers.factory import BrokerClients, BrokerContext
from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.data import IbkrMarketData
from adapters.brokers.ibkr.execution import IbkrExecution
from adapters.brokers.ibkr.session import IbSession
from core.model import AccountId


def open_clients(context: BrokerContext) -> BrokerClients:
    """One TWS session shared by the account's ``Execution`` and ``MarketData``.

    Connects before returning (``ClientIdInUse`` or ``BrokerUnavailable`` if it cannot); by then
    open orders and executions have been matched and every wanted market-data line requested.
    """
    settings = IbkrSettings.from_connection(context.credentials.ibkr)
    session = IbSession(settings, context.clock)
    execution = IbkrExecution(session, AccountId(context.account.id), context.clock)
    data = IbkrMarketData(session, context.clock)
    session.start()
    return BrokerClients(execution, data, closers=(data.close, session.close))
