"""``AlpacaExecution``: the ``Execution`` port over alpaca-py (see ``docs/brokers/alpaca.md``).

* Our ``ClientOrderId`` is Alpaca's ``client_order_id``. Alpaca refuses a second order with a
  known id (HTTP 422): ``submit`` then returns the existing order (``get_order_by_client_id``),
  so a resubmission after a crash creates nothing. A replacement is a new Alpaca order
  (``cid~r<n>``, see ``parsing``) that stays our ``cid``.
* Updates come from the one ``trade_updates`` stream of the account (``StreamLoop``: back-off
  with jitter, one connection at a time). After every (re)connect the adapter reconciles through
  REST (orders since the last sync, open orders, FILL activities) and only then reports
  ``ready``; what the stream missed while it was down becomes events, each fill once.
* Reports (open orders, orders and fills since a time, positions, balance) come from REST.
* Requests never sleep: a 429 or 5xx raises ``BrokerUnavailable`` (see ``rest``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alpaca.common.enums import Sort
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest, ReplaceOrderRequest
from alpaca.trading.stream import TradingStream

from adapters.brokers.alpaca.capabilities import ALPACA_CAPABILITIES
from adapters.brokers.alpaca.config import AlpacaSettings
from adapters.brokers.alpaca.parsing import (
    Raw,
    alpaca_client_id,
    balance_from_wire,
    fill_from_activity,
    fill_from_update,
    generation_of,
    is_duplicate_client_id,
    order_from_wire,
    order_request,
    our_client_id,
    position_from_wire,
    wire_time,
)
from adapters.brokers.alpaca.rest import AlpacaRefused, call
from adapters.brokers.alpaca.stream import StreamLoop
from core.clock import Clock
from core.errors import BrokerUnavailable, OrderRejected
from core.messages import ExecutionEvent, OrderFilled, OrderUpdated, ReconciliationReport
from core.model import (
    AccountBalance,
    AccountId,
    ClientOrderId,
    Fill,
    FillId,
    Order,
    OrderStatus,
    Price,
    Quantity,
)
from core.ports import BrokerCapabilities

log = logging.getLogger(__name__)
PAGE = 500
ACTIVITY_PAGE = 100
RESYNC_MARGIN = timedelta(minutes=5)
FIRST_LOOKBACK = timedelta(days=1)


class AlpacaExecution:
    """Order entry, updates and reports of one Alpaca account (see the module docstring)."""

    def __init__(
        self, client: TradingClient, settings: AlpacaSettings, account_id: AccountId, clock: Clock
    ) -> None:
        self._client = client
        self._settings = settings
        self._account_id = account_id
        self._clock = clock
        self._lock = threading.RLock()
        self._orders: dict[ClientOrderId, Order] = {}
        self._generation: dict[ClientOrderId, int] = {}
        self._cids: dict[str, ClientOrderId] = {}
        self._fill_ids: set[FillId] = set()
        self._events: list[ExecutionEvent] = []
        self._synced_at: datetime | None = None
        self._synced = False
        self._started = False
        self.resyncs = 0
        self.stream = StreamLoop(
            "trade",
            self._new_stream,
            connect_timeout=settings.connect_timeout,
            backoff_initial=settings.backoff_initial,
            backoff_max=settings.backoff_max,
            on_up=self._up,
            on_down=self._down,
            seed=sum(map(ord, str(account_id))),
        )

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Connect the trade stream and wait until the first REST sync made the adapter ready."""
        self._started = True
        self.stream.start()
        deadline = time.monotonic() + self._settings.ready_timeout
        while not self.ready:
            if time.monotonic() > deadline:
                self.stream.close()
                raise BrokerUnavailable(
                    f"Alpaca trade stream of {self._account_id} not ready within "
                    f"{self._settings.ready_timeout} s ({self.stream.last_error or 'no answer'})"
                )
            time.sleep(0.01)

    def close(self) -> None:
        self.stream.close()

    @property
    def ready(self) -> bool:
        """True once the trade stream is up and REST has filled in what it may have missed."""
        return self.stream.connected and self._synced

    # -- the port -----------------------------------------------------------------------------
    @property
    def account_id(self) -> AccountId:
        return self._account_id

    @property
    def capabilities(self) -> BrokerCapabilities:
        return ALPACA_CAPABILITIES

    def submit(self, order: Order) -> Order:
        if order.account_id != self._account_id:
            raise OrderRejected(
                f"order {order.client_order_id} is for {order.account_id}, not {self._account_id}"
            )
        cid = order.client_order_id
        with self._lock:
            known = self._orders.get(cid)
        if known is not None and known.broker_order_id is not None:
            return self.get_order(cid) or known
        request = order_request(order)
        try:
            raw = call(f"submit {cid}", self._client.submit_order, request)
        except AlpacaRefused as exc:
            if is_duplicate_client_id(exc.status, exc.message):
                found = self._find(cid)
                if found is None:
                    raise BrokerUnavailable(f"Alpaca holds {cid} but could not return it yet") from None
                return self._learn(found)
            now = self._clock.now()
            rejected = replace(order, status=OrderStatus.REJECTED, updated_at=now, reason=exc.message)
            with self._lock:
                self._orders[cid] = rejected
                self._events.append(OrderUpdated(rejected, now))
            return rejected
        return self._learn(_raw(raw))

    def cancel(self, client_order_id: ClientOrderId) -> Order:
        raw = self._require(client_order_id)
        order = order_from_wire(raw, self._account_id)
        if order.status is OrderStatus.CANCELLED:
            return order
        if order.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {order.status}; it cannot be cancelled")
        call(f"cancel {client_order_id}", self._client.cancel_order_by_id, str(raw["id"]))
        deadline = time.monotonic() + self._settings.connect_timeout
        while True:  # Alpaca answers 204 at once; the order reads pending_cancel until it is done
            raw = _raw(call(f"order {client_order_id}", self._client.get_order_by_id, str(raw["id"])))
            if raw.get("status") != "pending_cancel" or time.monotonic() > deadline:
                return self._learn(raw)
            time.sleep(0.02)

    def replace(
        self,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order:
        raw = self._require(client_order_id)
        old = order_from_wire(raw, self._account_id)
        if old.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {old.status}; it cannot be replaced")
        if quantity is not None and (quantity.value <= 0 or quantity <= old.filled_quantity):
            raise OrderRejected(
                f"replace of {client_order_id}: quantity must exceed filled {old.filled_quantity}, got {quantity}"
            )
        if quantity is not None and quantity.value != quantity.value.to_integral_value():
            raise OrderRejected(f"replace of {client_order_id}: Alpaca replaces whole-share quantities only")
        generation = generation_of(str(raw["client_order_id"])) + 1
        request = ReplaceOrderRequest(
            qty=int(quantity.value) if quantity is not None else None,
            limit_price=float(limit_price.value) if limit_price is not None else None,
            stop_price=float(stop_price.value) if stop_price is not None else None,
            client_order_id=alpaca_client_id(client_order_id, generation),
        )
        new = call(
            f"replace {client_order_id}", lambda: self._client.replace_order_by_id(str(raw["id"]), request)
        )
        return self._learn(_raw(new))

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        raw = self._find(client_order_id)
        if raw is None:
            with self._lock:  # refused at entry: Alpaca keeps no record of it
                return self._orders.get(client_order_id)
        return self._learn(raw)

    def poll_events(self) -> list[ExecutionEvent]:
        """Updates not yet taken, including every one the stream's socket already received.

        ``BrokerUnavailable`` while a started stream is down or catching up: the caller treats
        the broker as down and reconciles through ``report`` until it is back."""
        if self._started and not self.ready:
            raise BrokerUnavailable(
                f"Alpaca trade stream of {self._account_id} is down or catching up "
                f"({self.stream.last_error or 'reconnecting'})"
            )
        self.stream.sync()
        with self._lock:
            events, self._events = self._events, []
        return events

    def sync(self) -> None:
        """Return once every update the socket received has been handled."""
        self.stream.sync()

    # -- reports ------------------------------------------------------------------------------
    def open_orders(self) -> list[Order]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=PAGE, direction=Sort.ASC)
        raws = _raws(call("open orders", self._client.get_orders, request))
        return [o for o in self._collapse(raws) if o.status.is_open]

    def orders_since(self, since: datetime) -> list[Order]:
        """Orders submitted since ``since`` and every open one, one per client order id."""
        raws: list[Raw] = []
        after = since - timedelta(milliseconds=1)
        while True:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL, limit=PAGE, after=after, direction=Sort.ASC
            )
            page = _raws(call("orders", self._client.get_orders, request))
            raws += page
            if len(page) < PAGE:
                break
            after = datetime.fromisoformat(
                wire_time(order_from_wire(page[-1], self._account_id).created_at)[:-1]
            )
        open_now = _raws(
            call(
                "open orders",
                lambda: self._client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=PAGE)),
            )
        )
        return self._collapse([*raws, *open_now])

    def fills_since(self, since: datetime) -> list[Fill]:
        """Fills from Alpaca's FILL account activities, oldest first."""
        fills: list[Fill] = []
        params: dict[str, Any] = {
            "after": wire_time(since - timedelta(milliseconds=1)),
            "direction": "asc",
            "page_size": ACTIVITY_PAGE,
        }
        while True:
            page = _raws(call("fill activities", self._client.get, "/account/activities/FILL", dict(params)))
            for raw in page:
                fill = fill_from_activity(raw, self._account_id, self._cid_of(str(raw["order_id"])))
                if fill.ts >= since:
                    fills.append(fill)
            if len(page) < ACTIVITY_PAGE:
                return fills
            params["page_token"] = str(page[-1]["id"])

    def balance(self) -> AccountBalance:
        raw = _raw(call("account", self._client.get_account))
        return balance_from_wire(raw, self._account_id, self._clock.now())

    def report(self, since: datetime) -> ReconciliationReport:
        positions = tuple(
            position_from_wire(p) for p in _raws(call("positions", self._client.get_all_positions))
        )
        orders = self.orders_since(since)
        return ReconciliationReport(
            account_id=self._account_id,
            ts=self._clock.now(),
            open_orders=tuple(o for o in orders if o.status.is_open),
            fills=tuple(self.fills_since(since)),
            positions=positions,
            balance=self.balance(),
            orders=tuple(o for o in orders if (o.updated_at or o.created_at) >= since),
        )

    # -- REST helpers -------------------------------------------------------------------------
    def _find(self, cid: ClientOrderId) -> Raw | None:
        """The current generation of our order ``cid`` at Alpaca, or ``None`` if it has none."""
        try:
            raw = _raw(call(f"order {cid}", self._client.get_order_by_client_id, str(cid)))
        except AlpacaRefused as exc:
            if exc.status == 404:
                return None
            raise
        while raw.get("replaced_by"):
            newer = str(raw["replaced_by"])
            raw = _raw(call(f"order {cid}", self._client.get_order_by_id, newer))
        return raw

    def _require(self, cid: ClientOrderId) -> Raw:
        raw = self._find(cid)
        if raw is None:
            raise OrderRejected(f"unknown order {cid}")
        return raw

    def _cid_of(self, alpaca_id: str) -> ClientOrderId:
        with self._lock:
            cid = self._cids.get(alpaca_id)
        if cid is None:
            raw = _raw(call(f"order {alpaca_id}", self._client.get_order_by_id, alpaca_id))
            self._remember(raw)
            cid = our_client_id(str(raw["client_order_id"]))
        return cid

    def _remember(self, raw: Raw) -> tuple[ClientOrderId, int]:
        cid = our_client_id(str(raw["client_order_id"]))
        generation = generation_of(str(raw["client_order_id"]))
        with self._lock:
            self._cids[str(raw["id"])] = cid
            self._generation[cid] = max(generation, self._generation.get(cid, 0))
        return cid, generation

    def _current(self, raw: Raw) -> bool:
        """False for an older generation of a replaced order (its updates are history)."""
        cid, generation = self._remember(raw)
        return raw.get("status") != "replaced" and generation >= self._generation.get(cid, 0)

    def _learn(self, raw: Raw) -> Order:
        order = order_from_wire(raw, self._account_id)
        if self._current(raw):
            with self._lock:
                self._orders[order.client_order_id] = order
        return order

    def _collapse(self, raws: list[Raw]) -> list[Order]:
        """One order per client order id: its current generation."""
        latest: dict[ClientOrderId, Order] = {}
        for raw in raws:
            if self._current(raw):
                order = self._learn(raw)
                latest[order.client_order_id] = order
        return list(latest.values())

    # -- the trade stream ---------------------------------------------------------------------
    def _new_stream(self) -> TradingStream:
        stream = TradingStream(
            self._settings.api_key.get_secret_value(),
            self._settings.api_secret.get_secret_value(),
            paper=self._settings.paper,
            raw_data=True,
            url_override=self._settings.stream_url,
            websocket_params={"ping_interval": 10, "ping_timeout": 20, "max_queue": 1024},
        )
        stream.subscribe_trade_updates(self._on_message)
        return stream

    async def _on_message(self, message: Raw) -> None:
        self.stream.seen()
        if message.get("stream") == "trade_updates":
            self._on_update(message["data"])

    def _on_update(self, update: Raw) -> None:
        raw = update["order"]
        order = order_from_wire(raw, self._account_id)
        fill = fill_from_update(update, self._account_id)
        current = self._current(raw)
        with self._lock:
            if fill is not None and fill.fill_id not in self._fill_ids:
                self._fill_ids.add(fill.fill_id)
                self._events.append(OrderFilled(fill))
            if current and update.get("event") != "replaced":
                self._update(order)

    def _update(self, order: Order) -> None:
        """Keep ``order`` and emit it, unless it is behind what we know (under the lock)."""
        known = self._orders.get(order.client_order_id)
        if (
            known is not None
            and known.status is not order.status
            and not known.status.can_transition_to(order.status)
        ):
            return
        self._orders[order.client_order_id] = order
        self._events.append(OrderUpdated(order, order.updated_at or self._clock.now()))

    async def _up(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._resync)

    def _down(self) -> None:
        self._synced = False

    def _resync(self) -> None:
        """After a (re)connect: what the stream may have missed, from REST, then ready.

        The first sync learns the account's state (start-up reconciliation reads the same
        reports); later ones turn every difference into events, each fill once."""
        started = self._clock.now()
        first = self._synced_at is None
        since = (self._synced_at or started - FIRST_LOOKBACK) - RESYNC_MARGIN
        with self._lock:
            before = dict(self._orders)
        try:
            orders = self.orders_since(since)
            fills = self.fills_since(since)
        except (BrokerUnavailable, OrderRejected) as exc:
            log.warning("alpaca resync of %s failed (%s); the stream reconnects", self._account_id, exc)
            raise ConnectionError(str(exc)) from None
        with self._lock:
            for fill in fills:
                if fill.fill_id not in self._fill_ids:
                    self._fill_ids.add(fill.fill_id)
                    if not first:
                        self._events.append(OrderFilled(fill))
            for order in orders if not first else ():
                if _moved(before.get(order.client_order_id), order):
                    self._events.append(OrderUpdated(order, order.updated_at or started))
            self._synced_at = started
        self.resyncs += 1
        self._synced = True


def _moved(known: Order | None, order: Order) -> bool:
    """``order`` is news (and not behind) compared with what was ``known`` of it."""
    if known is None:
        return True
    if (known.status, known.filled_quantity) == (order.status, order.filled_quantity):
        return False
    return known.status is order.status or known.status.can_transition_to(order.status)


def _raw(value: Any) -> Raw:
    if not isinstance(value, dict):
        raise BrokerUnavailable(f"Alpaca answered {type(value).__name__} where an object was expected")
    return value


def _raws(value: Any) -> list[Raw]:
    if not isinstance(value, list):
        raise BrokerUnavailable(f"Alpaca answered {type(value).__name__} where a list was expected")
    return [_raw(v) for v in value]
