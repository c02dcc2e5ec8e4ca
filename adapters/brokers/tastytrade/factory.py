"""``open_clients(context)`` for accounts at Tastytrade (see ``adapters.brokers.factory``)."""

from __future__ import annotations

from adapters.brokers.factory import BrokerClients, BrokerContext
from adapters.brokers.tastytrade.config import TastytradeSettings
from adapters.brokers.tastytrade.data import TastytradeMarketData
from adapters.brokers.tastytrade.execution import TastytradeExecution
from adapters.brokers.tastytrade.session import TtSession
from core.calendar import MarketCalendar
from core.model import AccountId


def open_clients(context: BrokerContext) -> BrokerClients:
    """One SDK session shared by the account's ``Execution`` and ``MarketData``.

    Authenticates before returning (``TokenInvalid`` if the grant is refused, naming what to
    renew); by then orders have been reconciled from REST and the account streamer started.
    """
    settings = TastytradeSettings.from_credentials(context.credentials.tastytrade)
    session = TtSession(settings, context.clock).start()
    execution = TastytradeExecution(session, AccountId(context.account.id), context.clock)
    data = TastytradeMarketData(session, context.clock, is_open=MarketCalendar().is_open)
    try:
        execution.start()
    except BaseException:
        session.close()
        raise
    return BrokerClients(execution, data, closers=(data.close, session.close))
