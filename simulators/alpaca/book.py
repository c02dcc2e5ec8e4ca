"""``AlpacaBook``: the Alpaca view of one account of a ``SimExchange``.

Alpaca numbers orders with UUIDs and makes a replacement a new order with a new
``client_order_id``; the exchange keeps one order per our client id and changes it in place.
The book keeps the generations (Alpaca id, Alpaca client id) of each exchange order, answers
the REST routes with Alpaca's JSON and turns the exchange's events into ``trade_updates``. An
order the exchange refused at entry never existed for Alpaca (HTTP 403/422, no record), as at
Alpaca. Every call runs on the simulator's loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.brokers.alpaca.parsing import TYPES, dec, our_client_id, parse_time
from adapters.brokers.sim import SimExchange
from core.errors import InvalidValue, OrderRejected
from core.messages import OrderFilled, OrderUpdated
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    Price,
    Quantity,
    TimeInForce,
)
from simulators.alpaca.payloads import (
    Json,
    account_json,
    error_json,
    fill_activity,
    order_json,
    position_json,
    trade_update,
    uid,
)

LONG_AGO = datetime(1970, 1, 2).astimezone()
EVENTS = {
    OrderStatus.SUBMITTED: "pending_new",
    OrderStatus.ACCEPTED: "new",
    OrderStatus.PARTIALLY_FILLED: "partial_fill",
    OrderStatus.FILLED: "fill",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.EXPIRED: "expired",
    OrderStatus.REJECTED: "rejected",
}


@dataclass
class Generation:
    alpaca_id: str
    alpaca_cid: str
    replaced_by: str | None = None
    replaced_at: datetime | None = None


class Refusal(Exception):
    """An HTTP error answer: ``status`` and Alpaca's error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_json(code, message)


class AlpacaBook:
    """Alpaca's orders, fills and account view of ``account_id`` at ``exchange``."""

    def __init__(self, exchange: SimExchange, account_id: AccountId) -> None:
        self.exchange = exchange
        self.account_id = account_id
        self.account_uid = uid("account", account_id)
        self.gens: dict[ClientOrderId, list[Generation]] = {}
        self.by_id: dict[str, tuple[ClientOrderId, int]] = {}
        self.by_cid: dict[str, tuple[ClientOrderId, int]] = {}
        self.posts: list[str] = []
        """The ``client_order_id`` of every POST /v2/orders received, refused ones included."""
        self.created: list[ClientOrderId] = []
        """Our client ids of the POSTs that created an order (one each, or a duplicate)."""
        for order in exchange.orders_since(account_id, LONG_AGO):  # a reopened durable venue
            if order.broker_order_id is not None and order.status is not OrderStatus.REJECTED:
                self._add(order.client_order_id, str(order.client_order_id))

    # -- identities -----------------------------------------------------------------------------
    def _add(self, cid: ClientOrderId, alpaca_cid: str) -> Generation:
        gens = self.gens.setdefault(cid, [])
        gen = Generation(uid("order", self.account_id, alpaca_cid), alpaca_cid)
        gens.append(gen)
        self.by_id[gen.alpaca_id] = self.by_cid[alpaca_cid] = (cid, len(gens) - 1)
        return gen

    def _order(self, cid: ClientOrderId) -> Order:
        order = self.exchange.get_order(self.account_id, cid)
        assert order is not None
        return order

    def json(self, cid: ClientOrderId, n: int | None = None) -> Json:
        gens = self.gens[cid]
        gen = gens[-1 if n is None else n]
        replaces = gens[gens.index(gen) - 1].alpaca_id if gens.index(gen) else None
        return order_json(
            self._order(cid),
            gen.alpaca_id,
            gen.alpaca_cid,
            replaced_by=gen.replaced_by,
            replaces=replaces,
            replaced_at=gen.replaced_at,
        )

    def by_alpaca_id(self, alpaca_id: str) -> Json:
        if alpaca_id not in self.by_id:
            raise Refusal(404, 40410000, "order not found")
        return self.json(*self.by_id[alpaca_id])

    def by_client_id(self, alpaca_cid: str) -> Json:
        if alpaca_cid not in self.by_cid:
            raise Refusal(404, 40410000, "order not found")
        return self.json(*self.by_cid[alpaca_cid])

    def orders(
        self, status: str, after: datetime | None, until: datetime | None, limit: int, asc: bool
    ) -> list[Json]:
        """Every generation, filtered as GET /v2/orders does (``after``/``until`` exclusive)."""
        rows = []
        for cid, gens in self.gens.items():
            order = self._order(cid)
            for n, gen in enumerate(gens):
                closed = gen.replaced_by is not None or order.status.is_terminal
                if (status == "open" and closed) or (status == "closed" and not closed):
                    continue
                if (after and order.created_at <= after) or (until and order.created_at >= until):
                    continue
                rows.append((order.created_at, n, self.json(cid, n)))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=not asc)
        return [r[2] for r in rows[:limit]]

    # -- order entry ------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> Json:
        alpaca_cid = str(body.get("client_order_id") or uid("auto", len(self.posts)))
        self.posts.append(alpaca_cid)
        if alpaca_cid in self.by_cid:
            raise Refusal(422, 40010001, "client_order_id must be unique")
        if body.get("order_class") not in (None, "", "simple"):
            raise Refusal(422, 40010001, f"order_class {body.get('order_class')} is not simulated")
        order = self._new_order(body, our_client_id(alpaca_cid))
        placed = self.exchange.submit(order)
        if placed.status is OrderStatus.REJECTED:
            status, code = (403, 40310000) if "buying power" in placed.reason else (422, 40010001)
            raise Refusal(status, code, placed.reason or "order rejected")
        self.created.append(order.client_order_id)
        self._add(order.client_order_id, alpaca_cid)
        return self.json(order.client_order_id)

    def _new_order(self, body: dict[str, Any], cid: ClientOrderId) -> Order:
        try:
            kind = TYPES[str(body.get("type") or "market")]
            tif = TimeInForce(str(body.get("time_in_force") or "day"))
            if body.get("qty") in (None, ""):
                raise Refusal(422, 40010001, "qty is required (notional orders are not simulated)")
            return Order.single(
                cid,
                self.account_id,
                Equity(str(body["symbol"])),
                OrderSide(str(body["side"])),
                Quantity(dec(body["qty"])),
                self.exchange.clock.now(),
                kind,
                Price(dec(body["limit_price"])) if body.get("limit_price") is not None else None,
                Price(dec(body["stop_price"])) if body.get("stop_price") is not None else None,
                tif,
            )
        except (KeyError, ValueError, InvalidValue) as exc:
            raise Refusal(422, 40010001, f"invalid order: {exc}") from None

    def cancel(self, alpaca_id: str) -> None:
        cid, _n = self._working(alpaca_id, "cancelable")
        try:
            self.exchange.cancel(self.account_id, cid)
        except OrderRejected as exc:
            raise Refusal(422, 42210000, str(exc)) from None

    def replace(self, alpaca_id: str, body: dict[str, Any]) -> tuple[Json, Json]:
        """The replaced generation's JSON and the new one's."""
        cid, n = self._working(alpaca_id, "replaceable")
        new_cid = str(body.get("client_order_id") or uid("replace", alpaca_id))
        if new_cid in self.by_cid:
            raise Refusal(422, 40010001, "client_order_id must be unique")
        try:
            self.exchange.replace(
                self.account_id,
                cid,
                Quantity(dec(body["qty"])) if body.get("qty") is not None else None,
                Price(dec(body["limit_price"])) if body.get("limit_price") is not None else None,
                Price(dec(body["stop_price"])) if body.get("stop_price") is not None else None,
            )
        except (OrderRejected, InvalidValue) as exc:
            raise Refusal(422, 42210000, str(exc)) from None
        old = self.gens[cid][n]
        new = self._add(cid, new_cid)
        old.replaced_by, old.replaced_at = new.alpaca_id, self.exchange.clock.now()
        return self.json(cid, n), self.json(cid)

    def _working(self, alpaca_id: str, what: str) -> tuple[ClientOrderId, int]:
        if alpaca_id not in self.by_id:
            raise Refusal(404, 40410000, "order not found")
        cid, n = self.by_id[alpaca_id]
        if n != len(self.gens[cid]) - 1 or self._order(cid).status.is_terminal:
            raise Refusal(422, 42210000, f"order is not {what}")
        return cid, n

    # -- events -----------------------------------------------------------------------------------
    def updates(self) -> list[Json]:
        """The exchange's new events as ``trade_updates`` messages: a fill and the order state
        after it are one ``fill``/``partial_fill`` update, as at Alpaca."""
        messages: list[Json] = []
        pending: dict[ClientOrderId, list[Fill]] = {}
        for event in self.exchange.poll_events(self.account_id):
            if isinstance(event, OrderFilled):
                pending.setdefault(event.fill.client_order_id, []).append(event.fill)
                continue
            if not isinstance(event, OrderUpdated) or event.order.client_order_id not in self.gens:
                continue
            cid = event.order.client_order_id
            fills = pending.pop(cid, [])
            messages += self._messages(cid, event.order.status, event.ts, fills)
        for cid, fills in pending.items():
            if cid in self.gens:
                messages += self._messages(cid, self._order(cid).status, fills[-1].ts, fills)
        return messages

    def _messages(
        self, cid: ClientOrderId, status: OrderStatus, ts: datetime, fills: list[Fill]
    ) -> list[Json]:
        order = self.json(cid)
        if not fills:
            return [trade_update(EVENTS.get(status, "new"), order, ts)]
        out = []
        for i, fill in enumerate(fills):
            last = i == len(fills) - 1
            event = "fill" if last and status is OrderStatus.FILLED else "partial_fill"
            out.append(trade_update(event, order, fill.ts, fill, self._position(fill)))
        return out

    def _position(self, fill: Fill) -> Decimal:
        held = [p for p in self.exchange.positions(self.account_id) if p.instrument == fill.instrument]
        return held[0].net if held else Decimal(0)

    # -- account ----------------------------------------------------------------------------------
    def account(self) -> Json:
        balance = self.exchange.balance(self.account_id)
        return account_json(
            balance, self.account_uid, f"PA{int(self.account_uid.replace('-', ''), 16) % 10**10:010d}"
        )

    def positions(self) -> list[Json]:
        return [
            position_json(p, self.exchange.last_price(p.instrument.id))
            for p in sorted(self.exchange.positions(self.account_id), key=lambda p: str(p.instrument.id))
        ]

    def activities(
        self, after: str | None, until: str | None, asc: bool, size: int, token: str | None
    ) -> list[Json]:
        """FILL activities of every fill, Alpaca's way (``after``/``until`` exclusive, paged by id)."""
        rows: list[Json] = []
        cum: dict[ClientOrderId, Decimal] = {}
        start = parse_time(after) if after else None
        end = parse_time(until) if until else None
        for fill in self.exchange.fills_since(self.account_id, LONG_AGO):
            cid = fill.client_order_id
            if cid not in self.gens:
                continue
            order = self._order(cid)
            cum[cid] = cum.get(cid, Decimal(0)) + fill.quantity.value
            if (start and fill.ts <= start) or (end and fill.ts >= end):
                continue
            leaves = order.quantity.value - cum[cid]
            status = "filled" if leaves <= 0 else "partially_filled"
            rows.append(
                fill_activity(fill, self.account_uid, self.gens[cid][-1].alpaca_id, cum[cid], leaves, status)
            )
        if not asc:
            rows.reverse()
        if token is not None:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        return rows[:size]
