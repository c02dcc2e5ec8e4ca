"""``TastytradeExecution``: the ``Execution`` port over the ``tastytrade`` SDK.

* The client order id goes out as ``external-identifier`` (echoed on every order report).
  Tastytrade does not deduplicate it, so ``submit`` looks the id up (the book, then today's
  orders at the broker) before placing anything: a resubmission after a crash finds the original.
* A multi-leg order (the Trident's spreads) is one order with all its legs, at the net limit
  price, signed as the SDK wants (positive credit, negative debit).
* ``replace`` changes prices in place (``PUT``); a quantity change cancels the order and places
  the remainder with the same external identifier (the SDK's replace keeps the legs).
* Order, balance and position pushes of the account streamer become execution events; after
  every (re)connect, and in ``poll_events``/``report``, REST confirms nothing was missed.
* ``dry_run`` gives the broker's buying-power effect of an order (for the risk check).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from tastytrade import AlertStreamer
from tastytrade.account import AccountBalance as TtBalance
from tastytrade.account import CurrentPosition
from tastytrade.order import PlacedOrder, PlacedOrderResponse
from tastytrade.utils import TastytradeError

from adapters.brokers import book_reports as reports
from adapters.brokers.tastytrade.book import OrderBook, Tracked
from adapters.brokers.tastytrade.capabilities import TASTYTRADE_CAPABILITIES
from adapters.brokers.tastytrade.parsing import build_order, instrument_of
from adapters.brokers.tastytrade.session import TokenInvalid, TtSession
from core.clock import Clock
from core.errors import BrokerUnavailable, OrderRejected
from core.messages import ExecutionEvent, OrderUpdated, PositionReport, ReconciliationReport
from core.model import (
    AccountBalance,
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    Fill,
    Instrument,
    Money,
    Order,
    OrderStatus,
    Price,
    Quantity,
)
from core.ports import BrokerCapabilities

log = logging.getLogger(__name__)
CATCH_UP_S = 1.0
"""How long ``poll_events`` lets the streamer deliver what REST already shows, before applying REST."""


@dataclass(frozen=True, slots=True)
class DryRun:
    """The broker's answer to a dry-run order: what it would do to buying power."""

    change_in_buying_power: Money
    """Buying power the order would use (negative: it frees some)."""
    new_buying_power: Money
    errors: tuple[str, ...] = ()


class TastytradeExecution:
    """Order entry and reports of one Tastytrade account through a ``TtSession``."""

    def __init__(self, session: TtSession, account_id: AccountId, clock: Clock) -> None:
        self._session = session
        self._account_id = account_id
        self._clock = clock
        self._book = OrderBook(account_id, clock)
        self.streaming = False
        self.stream_reconnects = 0
        self.balance_pushes = 0
        self.position_pushes: dict[Instrument, Decimal] = {}

    def start(self) -> None:
        """Reconcile from REST, then keep the account streamer connected (in the background)."""
        self._session.call(self._reconcile())
        self._session.call(self._start_stream())

    async def _start_stream(self) -> None:
        self._session.spawn(self._stream())

    # -- the port -----------------------------------------------------------------------------
    @property
    def account_id(self) -> AccountId:
        return self._account_id

    @property
    def capabilities(self) -> BrokerCapabilities:
        return TASTYTRADE_CAPABILITIES

    @property
    def ready(self) -> bool:
        """False while the token is invalid: the seed's ``is_token_valid`` (the cycle skips)."""
        return self._session.token_valid

    @property
    def token_valid(self) -> bool:
        return self._session.token_valid

    def check_token(self) -> bool:
        """Probe the token with one REST call; False (and alerted) once the API refuses it."""
        if self._session.token_valid:
            with contextlib.suppress(TokenInvalid, TastytradeError):
                self._session.call(self._balance())
        return self._session.token_valid

    def submit(self, order: Order) -> Order:
        with self._book.lock:
            known = self._book.orders.get(order.client_order_id)
        if known is not None:
            return known.order
        if order.account_id != self._account_id:
            raise OrderRejected(
                f"order {order.client_order_id} is for {order.account_id}, not {self._account_id}"
            )
        return self._session.call(self._submit(order))

    def cancel(self, client_order_id: ClientOrderId) -> Order:
        tracked = self._tracked(client_order_id)
        if tracked.order.status is OrderStatus.CANCELLED:
            return tracked.order
        if tracked.order.status.is_terminal or tracked.broker_id is None:
            raise OrderRejected(f"order {client_order_id} is {tracked.order.status}; it cannot be cancelled")
        return self._session.call(self._cancel(client_order_id, tracked.broker_id))

    def replace(
        self,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order:
        tracked = self._tracked(client_order_id)
        old = tracked.order
        if old.status.is_terminal or tracked.broker_id is None:
            raise OrderRejected(f"order {client_order_id} is {old.status}; it cannot be replaced")
        if quantity is not None and (quantity.value <= 0 or quantity <= old.filled_quantity):
            raise OrderRejected(
                f"replace of {client_order_id}: quantity must exceed filled {old.filled_quantity}, got {quantity}"
            )
        new = replace(
            old,
            quantity=quantity or old.quantity,
            limit_price=limit_price or old.limit_price,
            stop_price=stop_price or old.stop_price,
        )
        return self._session.call(self._replace(tracked.broker_id, new))

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        return reports.get_order(self._book, client_order_id)

    def poll_events(self) -> list[ExecutionEvent]:
        """Events not yet taken; REST confirms the streamer delivered everything first."""
        with contextlib.suppress(BrokerUnavailable, TokenInvalid, TastytradeError):
            self._session.call(self._catch_up())
        return reports.take_events(self._book)

    def sync(self) -> None:
        """Return once what the broker shows over REST has reached the book (streamer or REST)."""
        self._session.call(self._catch_up())

    def open_orders(self) -> list[Order]:
        return reports.open_orders(self._book)

    def orders_since(self, since: datetime) -> list[Order]:
        return reports.orders_since(self._book, since)

    def fills_since(self, since: datetime) -> list[Fill]:
        return reports.fills_since(self._book, since)

    def balance(self) -> AccountBalance:
        return self._session.call(self._balance())

    def report(self, since: datetime) -> ReconciliationReport:
        balance, positions = self._session.call(self._report())
        return reports.read_report(self._book, self._account_id, self._clock.now(), since, balance, positions)

    def dry_run(self, order: Order) -> DryRun:
        """The broker's buying-power effect of ``order`` (nothing is placed)."""
        return self._session.call(self._dry_run(order))

    # -- on the loop --------------------------------------------------------------------------
    async def _holdings(self) -> dict[Instrument, Decimal]:
        sdk, account = self._session.require()
        held: dict[Instrument, Decimal] = {}
        for p in await self._session.request(lambda: account.get_positions(sdk)):
            instrument = instrument_of(p.symbol, p.instrument_type)
            if instrument is not None:
                held[instrument] = p.quantity if p.quantity_direction == "Long" else -p.quantity
        return held

    async def _find(self, cid: ClientOrderId) -> Order | None:
        sdk, account = self._session.require()
        for placed in await self._session.request(lambda: account.get_live_orders(sdk)):
            if placed.external_identifier == str(cid):
                self._book.apply(placed)
        tracked = self._book.orders.get(cid)
        return tracked.order if tracked else None

    async def _submit(self, order: Order) -> Order:
        sdk, account = self._session.require()
        found = await self._find(order.client_order_id)
        if found is not None:
            return found
        tt_order = build_order(order, await self._holdings(), str(order.client_order_id))
        try:
            response: PlacedOrderResponse[Any] = await self._session.request(
                lambda: account.place_order(sdk, tt_order, dry_run=False)
            )
        except TastytradeError as exc:
            return self._book.reject(order, str(exc).strip())
        placed = cast(PlacedOrder, response.order)
        now = self._clock.now()
        self._book.track(order.submitted(now, _broker_id(placed.id)), placed.id)
        self._book.apply(placed)
        return self._book.orders[order.client_order_id].order

    async def _cancel(self, cid: ClientOrderId, broker_id: int) -> Order:
        sdk, account = self._session.require()
        try:
            await self._session.request(lambda: account.delete_order(sdk, broker_id))
        except TastytradeError as exc:
            await self._refresh_order(broker_id)
            if self._book.orders[cid].order.status is OrderStatus.CANCELLED:
                return self._book.orders[cid].order
            raise OrderRejected(f"cancel of {cid} refused: {str(exc).strip()}") from None
        await self._refresh_order(broker_id)
        return self._book.orders[cid].order

    async def _refresh_order(self, broker_id: int) -> None:
        sdk, account = self._session.require()
        self._book.apply(await self._session.request(lambda: account.get_order(sdk, broker_id)))

    async def _replace(self, broker_id: int, new: Order) -> Order:
        sdk, account = self._session.require()
        cid = new.client_order_id
        old = self._book.orders[cid].order
        if new.quantity != old.quantity:
            await self._cancel(cid, broker_id)
            left = replace(new, filled_quantity=Quantity(0), quantity=new.quantity - old.filled_quantity)
            tt_order = build_order(left, await self._holdings(), str(cid))
            try:
                response: PlacedOrderResponse[Any] = await self._session.request(
                    lambda: account.place_order(sdk, tt_order, dry_run=False)
                )
            except TastytradeError as exc:
                raise OrderRejected(f"replace of {cid}: {str(exc).strip()}") from None
            placed = cast(PlacedOrder, response.order)
        else:
            tt_order = build_order(new, {}, str(cid))
            try:
                placed = await self._session.request(lambda: account.replace_order(sdk, broker_id, tt_order))
            except TastytradeError as exc:
                raise OrderRejected(f"replace of {cid}: {str(exc).strip()}") from None
        now = self._clock.now()
        with self._book.lock:
            tracked = self._book.track(self._book.orders[cid].order, placed.id)
            status = tracked.order.status
            if status is OrderStatus.CANCELLED:  # our own cancel of the replaced order
                status = OrderStatus.ACCEPTED
            tracked.order = replace(
                tracked.order,
                status=status,
                quantity=new.quantity,
                limit_price=new.limit_price,
                stop_price=new.stop_price,
                updated_at=now,
                broker_order_id=_broker_id(placed.id),
            )
            self._book.events[:] = [e for e in self._book.events if not _own_cancel(e, cid)]
            self._book.events.append(OrderUpdated(tracked.order, now))
        self._book.apply(placed)
        return self._book.orders[cid].order

    async def _catch_up(self) -> None:
        """Wait for the streamer to deliver what REST shows; apply REST for what it did not."""
        sdk, account = self._session.require()
        live = await self._session.request(lambda: account.get_live_orders(sdk))
        deadline = asyncio.get_running_loop().time() + (CATCH_UP_S if self.streaming else 0)
        while any(not self._book.matches(p) for p in live if p.id in self._book.by_broker):
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.01)
        for placed in live:
            self._book.apply(placed)

    async def _reconcile(self) -> None:
        """Every order of ours the broker reports (history, all pages): the REST catch-up."""
        sdk, account = self._session.require()
        history = await self._session.request(lambda: account.get_order_history(sdk, page_offset=None))
        for placed in sorted(history, key=lambda p: p.id):
            self._book.apply(placed)

    async def _balance(self) -> AccountBalance:
        sdk, account = self._session.require()
        return self._to_balance(await self._session.request(lambda: account.get_balances(sdk)))

    def _to_balance(self, b: TtBalance) -> AccountBalance:
        return AccountBalance(
            self._account_id,
            Money(b.cash_balance),
            Money(b.derivative_buying_power),
            Money(b.net_liquidating_value),
            self._clock.now(),
        )

    async def _report(self) -> tuple[AccountBalance, tuple[PositionReport, ...]]:
        sdk, account = self._session.require()
        await self._reconcile()
        positions = []
        for p in await self._session.request(lambda: account.get_positions(sdk)):
            instrument = instrument_of(p.symbol, p.instrument_type)
            if instrument is None or not p.quantity:
                continue
            net = p.quantity if p.quantity_direction == "Long" else -p.quantity
            positions.append(PositionReport(instrument, net, Price(p.average_open_price)))
        return await self._balance(), tuple(positions)

    async def _dry_run(self, order: Order) -> DryRun:
        sdk, account = self._session.require()
        tt_order = build_order(order, await self._holdings(), str(order.client_order_id))
        response: PlacedOrderResponse[Any] = await self._session.request(
            lambda: account.place_order(sdk, tt_order, dry_run=True)
        )
        effect = response.buying_power_effect
        errors = tuple(str(e) for e in response.errors or ())
        return DryRun(Money(-effect.change_in_buying_power), Money(effect.new_buying_power), errors)

    # -- the account streamer -----------------------------------------------------------------
    async def _stream(self) -> None:
        s = self._session.settings
        delay, first = s.backoff_initial, True
        while not self._session.closing:
            try:
                sdk, account = self._session.require()
                streamer = AlertStreamer(sdk)
                if s.streamer_url:
                    streamer.base_url = s.streamer_url
                async with streamer:
                    await streamer.subscribe_accounts([account])
                    await self._reconcile()
                    self.streaming = True
                    if not first:
                        self.stream_reconnects += 1
                        self._session.raise_alert(
                            "Tastytrade account streamer reconnected; reconciled from REST"
                        )
                    first, delay = False, s.backoff_initial
                    await asyncio.gather(
                        self._orders(streamer), self._balances(streamer), self._positions(streamer)
                    )
            except TokenInvalid:
                self.streaming = False
                await asyncio.sleep(s.backoff_max)
                continue
            except Exception as exc:
                log.info("account streamer stopped: %r", exc)
            if self.streaming:
                self._session.raise_alert("Tastytrade account streamer dropped; reconnecting")
            self.streaming = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, s.backoff_max)

    async def _orders(self, streamer: AlertStreamer) -> None:
        async for placed in streamer.listen(PlacedOrder):
            self._book.apply(placed)

    async def _balances(self, streamer: AlertStreamer) -> None:
        async for _ in streamer.listen(TtBalance):
            self.balance_pushes += 1

    async def _positions(self, streamer: AlertStreamer) -> None:
        async for p in streamer.listen(CurrentPosition):
            instrument = instrument_of(p.symbol, p.instrument_type)
            if instrument is not None:
                self.position_pushes[instrument] = (
                    p.quantity if p.quantity_direction == "Long" else -p.quantity
                )

    def _tracked(self, cid: ClientOrderId) -> Tracked:
        with self._book.lock:
            tracked = self._book.orders.get(cid)
        if tracked is None:
            raise OrderRejected(f"unknown order {cid}")
        return tracked


def _broker_id(value: int) -> BrokerOrderId:
    return BrokerOrderId(str(value))


def _own_cancel(event: ExecutionEvent, cid: ClientOrderId) -> bool:
    """The cancellation of an order we replaced by a new one: not news for the caller."""
    return (
        isinstance(event, OrderUpdated)
        and event.order.client_order_id == cid
        and event.order.status is OrderStatus.CANCELLED
    )
