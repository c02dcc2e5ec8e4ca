"""How an account's notifications leave (``core.trading.notices`` says which messages go).

The channels and routing come from ``settings.notifications`` (``adapters.notify.setup``); none
configured gives a dispatcher with no notifier, which drops everything. ``BackgroundNotify`` hands them
to the ``NotificationDispatcher`` on a thread of its own, so a slow or dead channel never holds
up trading; the dispatcher honours the account's preference and logs every failure.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from adapters.notify import NotificationDispatcher
from core.ports.notify import DeliveryResult, Notification

log = logging.getLogger(__name__)

class BackgroundNotify:
    """Sends through ``dispatcher`` on one worker thread, in order; ``notify`` never waits."""

    def __init__(self, dispatcher: NotificationDispatcher) -> None:
        self.dispatcher = dispatcher
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")
        self.sent = 0

    def notify(self, notification: Notification) -> Future[DeliveryResult]:
        self.sent += 1
        return self._pool.submit(self.dispatcher.notify, notification)

    def flush_digest(self, account_id: str) -> Future[DeliveryResult]:
        return self._pool.submit(self.dispatcher.flush_digest, account_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
