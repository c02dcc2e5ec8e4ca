"""The simulated exchange: accounts, working orders, matching, expiry and durable state.

Market data is pushed in (``on_quote``, ``on_bar``); every update first expires DAY orders past
their session close, then matches the working orders it concerns (see ``matching`` for the
rules and ``SimExchangeConfig.fill_on`` for which update fills what), then acknowledges orders
held back by fault-injected latency. An order can only fill on an update that arrives after it
was acknowledged. Every timestamp comes from the injected clock.

With a ``state_path`` the whole venue state is written atomically before each mutating call
returns, so a process killed at any instant reopens (``SimExchange.open``) with every order and
fill either fully recorded or not at all. Events are a delivery channel, not state: after a
restart, reconcile with ``report(since)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from adapters.brokers.sim.config import FillOn, SimExchangeConfig
from adapters.brokers.sim.expiry import settle
from adapters.brokers.sim.faults import SimFaults
from adapters.brokers.sim.margin import buying_power, equity, order_requirement
from adapters.brokers.sim.matching import (
    BarPrices,
    Decision,
    LegQuote,
    OrderTerms,
    combo_crosses,
    fillable,
    match_bar,
    match_quote,
    natural_credit,
)
from adapters.brokers.sim.persistence import Changes, StateStore
from adapters.brokers.sim.state import AccountState, VenueState, WorkingOrder
from core.clock import Clock
from core.errors import ConfigError, DataError, InvalidValue, OrderRejected
from core.messages import (
    ExecutionEvent,
    OrderFilled,
    OrderUpdated,
    PositionReport,
    ReconciliationReport,
)
from core.model import (
    AccountBalance,
    AccountId,
    Bar,
    BrokerOrderId,
    ClientOrderId,
    Equity,
    Fill,
    FillId,
    Instrument,
    InstrumentId,
    Money,
    OptionContract,
    Order,
    OrderSide,
    OrderStatus,
    Position,
    Price,
    PriceEffect,
    Quantity,
    Quote,
    TimeInForce,
    instrument_from_id,
)
from core.model.values import to_decimal

Budget = dict[tuple[InstrumentId, OrderSide], Decimal | None]
_BAR_FIELDS = ("open", "high", "low", "close", "volume")
_DAY_EXPIRED = "day order expired at the close"


def always_open(ts: datetime) -> bool:
    """The default market hours: always open."""
    return True


class SimExchange:
    """A simulated venue holding any number of accounts.

    ``is_open`` decides whether orders are accepted (pass ``MarketCalendar().is_open``);
    ``session_close`` gives the close a DAY order accepted at a time expires at (pass
    ``MarketCalendar().next_close``); without it DAY orders expire on ``expire_day_orders``.
    A ``state_path`` that already holds a state resumes it.
    """

    def __init__(
        self,
        config: SimExchangeConfig,
        clock: Clock,
        state_path: Path | None = None,
        *,
        is_open: Callable[[datetime], bool] = always_open,
        session_close: Callable[[datetime], datetime] | None = None,
        faults: SimFaults | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults or SimFaults()
        self._is_open = is_open
        self._session_close = session_close
        self._store = StateStore(state_path, fsync=config.fsync) if state_path is not None else None
        self._state = self._store.load() if self._store is not None else VenueState()
        self._changes = Changes()
        self._events: dict[AccountId, list[ExecutionEvent]] = {}

    @classmethod
    def open(
        cls,
        state_path: Path,
        config: SimExchangeConfig,
        clock: Clock,
        *,
        is_open: Callable[[datetime], bool] = always_open,
        session_close: Callable[[datetime], datetime] | None = None,
        faults: SimFaults | None = None,
    ) -> SimExchange:
        """Reopen the exchange saved at ``state_path``; ``DataError`` if there is none."""
        if not Path(state_path).exists():
            raise DataError(f"no simulated exchange state at {state_path}")
        return cls(config, clock, state_path, is_open=is_open, session_close=session_close, faults=faults)

    # -- set-up ------------------------------------------------------------------------------
    def open_account(self, account_id: AccountId, cash: Money, margin: bool = False) -> None:
        """Open an account funded with ``cash``; a no-op if it exists (restarts call it again)."""
        if account_id in self._state.accounts:
            return
        self._state.accounts[account_id] = AccountState(account_id, cash, margin)
        self._changes.accounts.add(account_id)
        self._save()

    def has_account(self, account_id: AccountId) -> bool:
        return account_id in self._state.accounts

    def list_instrument(self, instrument: Instrument) -> None:
        """Make ``instrument`` tradable before it has been quoted."""
        if self._register(instrument):
            self._save()

    # -- market data -------------------------------------------------------------------------
    def on_quote(self, quote: Quote) -> None:
        """A new best bid and ask: match the orders it concerns."""
        self._set_quote(quote)
        self._on_update(quote.instrument_id, quote=quote)
        self._save()

    def _set_quote(self, quote: Quote) -> None:
        iid = quote.instrument_id
        if iid not in self._state.instruments:
            self._register(instrument_from_id(iid))
        self._state.quotes[iid] = quote
        self._set_mark(iid, quote.mid.value)

    def on_quotes(self, quotes: Iterable[Quote]) -> None:
        """The quotes of one market event: all of them set first, then the orders matched
        instruments in turn (so a combination is priced on every leg's new quote), the state
        saved once."""
        batch = list(quotes)
        try:
            for quote in batch:
                self._set_quote(quote)
            for quote in batch:
                self._on_update(quote.instrument_id, quote=quote)
        finally:
            self._save()

    def on_bar(self, symbol: str | Instrument, bar: Bar | Mapping[str, Any]) -> None:
        """A new bar of ``symbol`` (a ``Bar`` or a row with open/high/low/close/volume)."""
        instrument = Equity(symbol) if isinstance(symbol, str) else symbol
        row: Mapping[str, Any] = {k: getattr(bar, k) for k in _BAR_FIELDS} if isinstance(bar, Bar) else bar
        prices = BarPrices(*(to_decimal(row[k], k) for k in _BAR_FIELDS))
        self._register(instrument)
        self._set_mark(instrument.id, prices.close)
        self._on_update(instrument.id, bar=prices)
        self._save()

    def last_quote(self, instrument_id: InstrumentId) -> Quote | None:
        return self._state.quotes.get(instrument_id)

    def last_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """The last bar close or quote mid of ``instrument_id``."""
        return self._state.marks.get(instrument_id)

    # -- order entry -------------------------------------------------------------------------
    def submit(self, order: Order) -> Order:
        """Accept or reject ``order``; an existing client order id returns the existing order."""
        account = self._account(order.account_id)
        existing = account.orders.get(order.client_order_id)
        if existing is not None:
            return existing.order
        now = self.clock.now()
        self._state.order_seq += 1
        seq = self._state.order_seq
        venue_order = replace(
            order,
            status=OrderStatus.PENDING,
            filled_quantity=Quantity(0),
            avg_fill_price=None,
            broker_order_id=None,
            updated_at=None,
            reason="",
        ).submitted(now, BrokerOrderId(f"SIM-{seq:08d}"))
        working = WorkingOrder(venue_order, seq)
        reason = self._refusal(account, working, now)
        if reason:
            working.order = venue_order.transition(OrderStatus.REJECTED, now, reason)
        else:
            if order.time_in_force is TimeInForce.DAY and self._session_close is not None:
                working.expires_at = self._session_close(now)
            working.ack_in = self.faults.ack_latency
            if not working.ack_in:
                working.order = venue_order.transition(OrderStatus.ACCEPTED, now)
            self._state.working[(account.account_id, order.client_order_id)] = None
        account.orders[order.client_order_id] = working
        self._changes.orders.add((account.account_id, order.client_order_id))
        self._emit(account, OrderUpdated(working.order, now))
        self._save()
        return working.order

    def cancel(self, account_id: AccountId, client_order_id: ClientOrderId) -> Order:
        """Cancel a working order; cancelling a cancelled order returns it unchanged."""
        account = self._account(account_id)
        working = self._working(account, client_order_id)
        if working.order.status is OrderStatus.CANCELLED:
            return working.order
        if working.order.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {working.order.status}; it cannot be cancelled")
        now = self.clock.now()
        self._close(account, working, working.order.transition(OrderStatus.CANCELLED, now, "cancelled"), now)
        self._save()
        return working.order

    def replace(
        self,
        account_id: AccountId,
        client_order_id: ClientOrderId,
        quantity: Quantity | None = None,
        limit_price: Price | None = None,
        stop_price: Price | None = None,
    ) -> Order:
        """Change the quantity and/or prices of a working order; ``OrderRejected`` if it cannot."""
        account = self._account(account_id)
        working = self._working(account, client_order_id)
        old = working.order
        if old.status.is_terminal:
            raise OrderRejected(f"order {client_order_id} is {old.status}; it cannot be replaced")
        if quantity is not None and quantity.value <= 0:
            raise OrderRejected(f"replace of {client_order_id}: quantity must be positive, got {quantity}")
        if quantity is not None and quantity <= old.filled_quantity:
            raise OrderRejected(
                f"replace of {client_order_id}: quantity {quantity} must exceed filled {old.filled_quantity}"
            )
        now = self.clock.now()
        try:
            new = replace(
                old,
                quantity=quantity or old.quantity,
                limit_price=limit_price or old.limit_price,
                stop_price=stop_price or old.stop_price,
                updated_at=now,
            )
            unfilled = replace(new, quantity=new.leaves_quantity, filled_quantity=Quantity(0))
        except InvalidValue as exc:
            raise OrderRejected(f"replace of {client_order_id}: {exc}") from exc
        held_elsewhere = self._held(account) - working.reserve_per_unit * old.leaves_quantity.value
        reserve, reason = self._requirement(account, unfilled, held_elsewhere)
        if reason:
            raise OrderRejected(f"replace of {client_order_id}: {reason}")
        working.order = new
        working.reserve_per_unit = reserve / unfilled.quantity.value
        self._changes.orders.add((account_id, client_order_id))
        self._emit(account, OrderUpdated(new, now))
        self._save()
        return new

    def get_order(self, account_id: AccountId, client_order_id: ClientOrderId) -> Order | None:
        working = self._account(account_id).orders.get(client_order_id)
        return working.order if working else None

    def poll_events(self, account_id: AccountId) -> list[ExecutionEvent]:
        """Order updates and fills of ``account_id`` not yet polled, oldest first."""
        self._account(account_id)
        events = self._events.get(account_id, [])
        self._events[account_id] = []
        return events

    # -- session events ----------------------------------------------------------------------
    def expire_day_orders(self, at: datetime) -> list[Order]:
        """Expire every open DAY order created at or before ``at`` (the session close)."""
        expired = self._expire(lambda w: w.order.created_at <= at, _DAY_EXPIRED)
        self._save()
        return expired

    def expire_options(self, on: date, settlement_prices: Mapping[str, float | Decimal]) -> list[Fill]:
        """Settle every option position expiring on or before ``on`` at ``settlement_prices``.

        Open orders on those options expire first. Raises ``DataError`` (changing nothing) if an
        underlying with an expiring position has no settlement price.
        """
        expiring = [
            (account, pos)
            for account in self._state.accounts.values()
            for pos in account.positions.values()
            if isinstance(pos.instrument, OptionContract) and pos.instrument.expiry <= on and pos.net
        ]
        missing = sorted({p.instrument.underlying for _, p in expiring} - set(settlement_prices))
        if missing:
            raise DataError(f"no settlement price for {', '.join(missing)} on {on.isoformat()}")
        self._expire(
            lambda w: any(
                isinstance(g.instrument, OptionContract) and g.instrument.expiry <= on for g in w.order.legs
            ),
            "option expired",
            day_only=False,
        )
        now = self.clock.now()
        cid = ClientOrderId(f"sim-expiry-{on:%Y%m%d}")
        fills: list[Fill] = []
        for account, pos in expiring:
            assert isinstance(pos.instrument, OptionContract)
            spot = to_decimal(settlement_prices[pos.instrument.underlying], "settlement price")
            for s in settle(pos.instrument, pos.net, spot):
                self._register(s.instrument)
                if isinstance(s.instrument, Equity) and s.instrument.id not in self._state.marks:
                    self._set_mark(s.instrument.id, spot)
                fill = self._record_fill(
                    account, cid, None, s.instrument, s.side, s.quantity, s.price, Money.zero(), now
                )
                fills.append(fill)
        self._save()
        return fills

    # -- reports -----------------------------------------------------------------------------
    def open_orders(self, account_id: AccountId) -> list[Order]:
        return [w.order for w in self._account(account_id).orders.values() if w.order.status.is_open]

    def orders_since(self, account_id: AccountId, since: datetime) -> list[Order]:
        """Orders created or changed at or after ``since``."""
        orders = (w.order for w in self._account(account_id).orders.values())
        return [o for o in orders if (o.updated_at or o.created_at) >= since]

    def fills_since(self, account_id: AccountId, since: datetime) -> list[Fill]:
        return [f for f in self._account(account_id).fills if f.ts >= since]

    def positions(self, account_id: AccountId) -> list[Position]:
        """Open (non-flat) positions."""
        return [p for p in self._account(account_id).positions.values() if not p.is_flat]

    def balance(self, account_id: AccountId) -> AccountBalance:
        """Cash, buying power (net of open orders, floored at 0) and equity at the last prices."""
        account = self._account(account_id)
        bp = buying_power(account, self._state.marks, self.config.margin_multiplier, self._held(account))
        return AccountBalance(
            account_id,
            account.cash,
            Money(max(bp, Decimal(0)), account.cash.currency),
            Money(equity(account, self._state.marks), account.cash.currency),
            self.clock.now(),
        )

    def report(self, account_id: AccountId, since: datetime) -> ReconciliationReport:
        positions = tuple(
            PositionReport(p.instrument, p.net, p.avg_price) for p in self.positions(account_id)
        )
        return ReconciliationReport(
            account_id=account_id,
            ts=self.clock.now(),
            open_orders=tuple(self.open_orders(account_id)),
            fills=tuple(self.fills_since(account_id, since)),
            positions=positions,
            balance=self.balance(account_id),
            orders=tuple(self.orders_since(account_id, since)),
        )

    # -- internals: entry checks -------------------------------------------------------------
    def _account(self, account_id: AccountId) -> AccountState:
        account = self._state.accounts.get(account_id)
        if account is None:
            raise ConfigError(f"no account {account_id} at the simulated exchange")
        return account

    def _working(self, account: AccountState, client_order_id: ClientOrderId) -> WorkingOrder:
        working = account.orders.get(client_order_id)
        if working is None:
            raise OrderRejected(f"unknown order {client_order_id}")
        return working

    def _held(self, account: AccountState) -> Decimal:
        held = Decimal(0)
        for aid, cid in self._state.working:
            if aid == account.account_id:
                w = account.orders[cid]
                held += w.reserve_per_unit * w.order.leaves_quantity.value
        return held

    def _refusal(self, account: AccountState, working: WorkingOrder, now: datetime) -> str:
        """Why the venue rejects the order ("" to accept); sets its buying-power reserve."""
        order = working.order
        forced = self.faults.take_rejection()
        if forced:
            return forced
        if not self._is_open(now):
            return "market closed"
        for leg in order.legs:
            if leg.instrument.id not in self._state.instruments:
                return f"unknown instrument {leg.instrument.id}"
        if order.is_option_order and order.quantity.value % 1:
            return "option orders trade whole contracts"
        reserve, reason = self._requirement(account, order, self._held(account))
        working.reserve_per_unit = reserve / order.quantity.value
        return reason

    def _requirement(self, account: AccountState, order: Order, held: Decimal) -> tuple[Decimal, str]:
        prices: dict[InstrumentId, Decimal] = {}
        for leg in order.legs:
            price = self._estimate(order, leg.instrument.id, leg.side)
            if price is None:
                return Decimal(0), f"no market price for {leg.instrument.id}"
            prices[leg.instrument.id] = price
        need = order_requirement(account, order, prices)
        if need.refusal:
            return Decimal(0), need.refusal
        available = buying_power(account, self._state.marks, self.config.margin_multiplier, held)
        if need.amount > available:
            return Decimal(0), f"insufficient buying power: needs {need.amount:.2f}, has {available:.2f}"
        return need.amount, ""

    def _estimate(self, order: Order, iid: InstrumentId, side: OrderSide) -> Decimal | None:
        """The price an order is expected to trade ``iid`` at, for its buying-power check."""
        if not order.is_multi_leg and (order.limit_price or order.stop_price):
            return (order.limit_price or order.stop_price or Price(0)).value
        quote = self._state.quotes.get(iid)
        touch = (
            (quote.ask if side is OrderSide.BUY else quote.bid).value if quote else self._state.marks.get(iid)
        )
        return None if touch is None else self.config.slippage.apply(touch, side)

    # -- internals: matching -----------------------------------------------------------------
    def _on_update(self, iid: InstrumentId, quote: Quote | None = None, bar: BarPrices | None = None) -> None:
        now = self.clock.now()
        self._expire(lambda w: w.expires_at is not None and w.expires_at <= now, _DAY_EXPIRED)
        budget: Budget = {}
        for key in list(self._state.working):
            account = self._state.accounts[key[0]]
            working = account.orders[key[1]]
            if working.order.status is OrderStatus.SUBMITTED:
                continue
            legs = working.order.legs
            if any(g.instrument.id == iid for g in legs):
                self._changes.orders.add(key)
            if working.order.is_multi_leg:
                if quote is not None and any(g.instrument.id == iid for g in legs):
                    self._match_combo(account, working, budget, now)
            elif legs[0].instrument.id == iid:
                self._match_single(account, working, quote, bar, budget, now)
        for key in list(self._state.working):
            account = self._state.accounts[key[0]]
            working = account.orders[key[1]]
            if working.order.status is OrderStatus.SUBMITTED:
                working.ack_in -= 1
                self._changes.orders.add(key)
                if working.ack_in <= 0:
                    working.order = working.order.transition(OrderStatus.ACCEPTED, now)
                    self._emit(account, OrderUpdated(working.order, now))

    def _capacity(
        self, budget: Budget, iid: InstrumentId, side: OrderSide, initial: Decimal | None
    ) -> Decimal | None:
        return budget.setdefault((iid, side), initial)

    def _quote_size(self, quote: Quote, side: OrderSide) -> Decimal | None:
        size = quote.ask_size if side is OrderSide.BUY else quote.bid_size
        return to_decimal(size, "quote size") if size > 0 else self.config.quote_depth

    def _match_single(
        self,
        account: AccountState,
        working: WorkingOrder,
        quote: Quote | None,
        bar: BarPrices | None,
        budget: Budget,
        now: datetime,
    ) -> None:
        order = working.order
        leg = order.legs[0]
        terms = OrderTerms(
            order.order_type,
            leg.side,
            order.limit_price.value if order.limit_price else None,
            order.stop_price.value if order.stop_price else None,
            working.triggered,
        )
        decision: Decision
        if quote is not None and (self.config.fill_on is FillOn.NEXT_QUOTE or order.is_option_order):
            decision = match_quote(terms, quote.bid.value, quote.ask.value)
            initial = self._quote_size(quote, leg.side)
        elif bar is not None and self.config.fill_on is FillOn.NEXT_BAR_OPEN:
            decision = match_bar(terms, bar)
            initial = self.config.max_participation * bar.volume
        else:
            return
        working.triggered = decision.triggered
        if decision.price is None:
            return
        capacity = self._capacity(budget, leg.instrument.id, leg.side, initial)
        qty = fillable(order.leaves_quantity.value, capacity)
        if qty <= 0:
            return
        if capacity is not None:
            budget[(leg.instrument.id, leg.side)] = capacity - qty
        price = decision.price
        if decision.at_market:
            price = self.config.slippage.apply(price, leg.side)
        price = round(price, self.config.price_decimals)
        self._fill_leg(account, working, leg.instrument, leg.side, qty, price, now)
        self._apply_order_fill(account, working, qty, price, now)

    def _match_combo(
        self, account: AccountState, working: WorkingOrder, budget: Budget, now: datetime
    ) -> None:
        order = working.order
        legs: list[LegQuote] = []
        capacity: Decimal | None = None
        for leg in order.legs:
            quote = self._state.quotes.get(leg.instrument.id)
            if quote is None:
                return
            legs.append(LegQuote(leg.side, leg.ratio, quote.bid.value, quote.ask.value))
            leg_cap = self._capacity(budget, leg.instrument.id, leg.side, self._quote_size(quote, leg.side))
            if leg_cap is not None:
                combos = (leg_cap / leg.ratio).to_integral_value(ROUND_FLOOR)
                capacity = combos if capacity is None else min(capacity, combos)
        credit = natural_credit(legs)
        limit, effect = order.limit_price, order.price_effect
        if limit is not None and effect is not None and not combo_crosses(effect, limit.value, credit):
            return
        qty = fillable(order.leaves_quantity.value, capacity)
        if qty <= 0:
            return
        for leg, lq in zip(order.legs, legs, strict=True):
            units = qty * leg.ratio
            key = (leg.instrument.id, leg.side)
            remaining = budget[key]
            if remaining is not None:
                budget[key] = remaining - units
            self._fill_leg(account, working, leg.instrument, leg.side, units, lq.natural, now)
        net = -credit if order.price_effect is PriceEffect.DEBIT else credit
        self._apply_order_fill(account, working, qty, net, now)

    def _fill_leg(
        self,
        account: AccountState,
        working: WorkingOrder,
        instrument: Instrument,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        now: datetime,
    ) -> None:
        """Record a fill of one leg of ``working``, charged its commission (counted on the order) and fees."""
        order = working.order
        commission = self.config.commission.commission(instrument, qty, price, working.charged)
        working.charged = working.charged + commission
        charged = commission + self.config.fees.fees(instrument, side, qty, price)
        self._record_fill(
            account, order.client_order_id, order.broker_order_id, instrument, side, qty, price, charged, now
        )

    def _record_fill(
        self,
        account: AccountState,
        client_order_id: ClientOrderId,
        broker_order_id: BrokerOrderId | None,
        instrument: Instrument,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        commission: Money,
        now: datetime,
    ) -> Fill:
        self._state.fill_seq += 1
        fill_id = f"SIM-F{self._state.fill_seq:08d}"
        if self.config.account_fill_ids:
            fill_id = f"{account.account_id}:{fill_id}"
        fill = Fill(
            fill_id=FillId(fill_id),
            client_order_id=client_order_id,
            account_id=account.account_id,
            instrument=instrument,
            side=side,
            quantity=Quantity(qty),
            price=Price(price),
            ts=now,
            commission=commission,
            broker_order_id=broker_order_id,
        )
        account.cash = account.cash + fill.cash_flow
        account.positions[instrument.id] = account.position(instrument).apply(fill)
        account.fills.append(fill)
        self._changes.accounts.add(account.account_id)
        self._changes.fills.append((self._state.fill_seq, fill))
        self._emit(account, OrderFilled(fill))
        return fill

    def _apply_order_fill(
        self, account: AccountState, working: WorkingOrder, qty: Decimal, price: Decimal, now: datetime
    ) -> None:
        order = working.order.with_fill(Quantity(qty), Price(price), now)
        if order.status is OrderStatus.FILLED:
            self._close(account, working, order, now)
        else:
            working.order = order
            self._changes.orders.add((account.account_id, order.client_order_id))
            self._emit(account, OrderUpdated(order, now))

    def _close(self, account: AccountState, working: WorkingOrder, order: Order, now: datetime) -> None:
        """Move ``working`` to its terminal ``order``: no longer working, reserve released."""
        working.order = order
        key = (account.account_id, order.client_order_id)
        self._state.working.pop(key, None)
        self._changes.orders.add(key)
        self._emit(account, OrderUpdated(order, now))

    def _expire(
        self, predicate: Callable[[WorkingOrder], bool], reason: str, day_only: bool = True
    ) -> list[Order]:
        now = self.clock.now()
        expired: list[Order] = []
        for aid, cid in list(self._state.working):
            account = self._state.accounts[aid]
            working = account.orders[cid]
            is_day = working.order.time_in_force is TimeInForce.DAY
            if (is_day or not day_only) and predicate(working):
                self._close(account, working, working.order.transition(OrderStatus.EXPIRED, now, reason), now)
                expired.append(working.order)
        return expired

    def _emit(self, account: AccountState, event: ExecutionEvent) -> None:
        self._events.setdefault(account.account_id, []).append(event)

    def _register(self, instrument: Instrument) -> bool:
        """Make ``instrument`` known; False if it already was."""
        if instrument.id in self._state.instruments:
            return False
        self._state.instruments[instrument.id] = instrument
        self._changes.instruments.add(instrument.id)
        return True

    def _set_mark(self, iid: InstrumentId, price: Decimal) -> None:
        self._state.marks[iid] = price
        self._changes.prices.add(iid)

    def _save(self) -> None:
        """Write what this call changed (one transaction), before the call returns."""
        if self._store is not None:
            self._store.save(self._state, self._changes)
        self._changes.clear()

    def close(self) -> None:
        """Close the state file (the state is already saved)."""
        if self._store is not None:
            self._store.close()
