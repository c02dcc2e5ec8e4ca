"""``open_clients(context)`` for accounts at Alpaca (see ``adapters.brokers.factory``)."""

from __future__ import annotations

from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.data import AlpacaMarketData
from adapters.brokers.alpaca.execution import AlpacaExecution
from adapters.brokers.alpaca.rest import AlpacaRefused, call, data_client, trading_client
from adapters.brokers.factory import BrokerClients, BrokerContext
from core.calendar import MarketCalendar
from core.errors import ConfigError
from core.model import AccountId


def open_clients(context: BrokerContext) -> BrokerClients:
    """The account's ``Execution`` (REST + its one trade stream) and ``MarketData``.

    Checks the keys first (``ConfigError`` naming the account if Alpaca refuses them), then
    connects the trade stream and returns once the first REST sync made it ready.
    """
    account = context.account
    settings = AlpacaSettings.from_credentials(account.id, context.credentials.alpaca, account.mode == "live")
    client = trading_client(settings)
    try:
        call("account", client.get_account)
    except AlpacaRefused as exc:
        if exc.status in (401, 403):
            raise ConfigError(
                f"accounts.{account.id}: Alpaca refused the API keys ({exc.message}); "
                f"check APCA_API_KEY_ID / APCA_API_SECRET_KEY and paper vs live"
            ) from None
        raise
    execution = AlpacaExecution(client, settings, AccountId(account.id), context.clock)
    calendar = MarketCalendar()
    data = AlpacaMarketData(
        data_client(settings),
        settings,
        context.clock,
        in_session=lambda: calendar.is_open(context.clock.now()),
    )
    try:
        execution.start()
    except BaseException:
        data.close()
        raise
    return BrokerClients(execution, data, closers=(data.close, execution.close))
