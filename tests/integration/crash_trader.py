"""A seeded, scripted trading session on the simulated exchange, for the crash-recovery test.

Venue state and ledger live in ``workdir``; running the session again resumes it: start-up runs
the ``Reconciler`` (start-up and crash recovery are one path), market data the venue has
already seen is not pushed again, and every signal is executed again (an order already sent is
a duplicate and sends nothing).

``Checkpoints`` number the instants worth dying at (after a quote, right after the venue
acknowledged a submission but before the ledger recorded it, after an execution, after events
were taken from the broker but before they were recorded...). With ``crash_after=N`` the process
SIGKILLs itself at the N-th one.

As a script: ``python -m tests.integration.crash_trader WORKDIR SEED [CRASH_AFTER]``; it prints
``READY`` once imported, so that a parent can time a kill from there.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.brokers.sim import FillOn, SimExchange, SimExchangeConfig, SimExecutionClient
from adapters.ledger import SqliteLedger
from adapters.ledger.postgres import open_ledger
from core.clock import SimClock
from core.execution import ExecutionService, Reconciler
from core.model import (
    AccountId,
    Equity,
    Money,
    Order,
    OrderLeg,
    OrderSide,
    OrderStatus,
    Price,
    Quantity,
    Quote,
    StrategyId,
    Suggestion,
)
from core.ports import Execution
from core.risk import RiskContext, RiskEngine, RiskLimits

ACCOUNT = AccountId("crash-acct")
LEDGER_URL_FILE = "ledger.url"
"""A workdir with this file keeps its ledger in the PostgreSQL database it names."""
T0 = datetime(2025, 11, 3, 14, 45, tzinfo=UTC)
SESSION = date(2025, 11, 3)
SYMBOLS = (Equity("AAPL"), Equity("MSFT"))
STEPS = 10
DAILY = StrategyId("daily_once")
SWING = StrategyId("swing")
LIMITS = RiskLimits(
    max_risk_per_trade=Money(10_000_000),
    max_open_positions=100,
    max_exposure_per_symbol=Money(100_000_000),
    daily_loss_limit=Money(10_000_000),
)


@dataclass(frozen=True, slots=True)
class Signal:
    step: int
    name: str
    instrument: Equity
    side: OrderSide
    qty: int
    strategy: StrategyId
    once_per_day: bool

    def suggestion(self, at: datetime) -> Suggestion:
        return Suggestion(
            ACCOUNT,
            self.strategy,
            SESSION,
            self.name,
            (OrderLeg(self.instrument, self.side),),
            Quantity(self.qty),
            at,
            max_risk=Money(1),
            once_per_day=self.once_per_day,
        )


@dataclass(frozen=True, slots=True)
class Script:
    quotes: tuple[tuple[Quote, ...], ...]
    signals: tuple[Signal, ...]


def make_script(seed: int) -> Script:
    """Quotes on a random walk and random signals; two once-per-day signals (one may trade)."""
    rng = random.Random(seed)
    mids = {s.symbol: Decimal(rng.randint(10_000, 30_000)) / 100 for s in SYMBOLS}
    quotes: list[tuple[Quote, ...]] = []
    signals: list[Signal] = []
    for step in range(STEPS):
        ts = T0 + timedelta(minutes=step)
        row = []
        for inst in SYMBOLS:
            mids[inst.symbol] += Decimal(rng.randint(-40, 40)) / 100
            half = Decimal(rng.randint(1, 6)) / 100
            row.append(Quote(inst.id, Price(mids[inst.symbol] - half), Price(mids[inst.symbol] + half), ts))
        quotes.append(tuple(row))
        if step < STEPS - 1 and rng.random() < 0.6:
            signals.append(
                Signal(
                    step,
                    f"swing-{step}",
                    rng.choice(SYMBOLS),
                    rng.choice(list(OrderSide)),
                    rng.randint(1, 20),
                    SWING,
                    False,
                )
            )
    for step in sorted(rng.sample(range(STEPS - 1), 2)):
        signals.append(Signal(step, f"daily-{step}", SYMBOLS[0], OrderSide.BUY, 5, DAILY, True))
    return Script(tuple(quotes), tuple(sorted(signals, key=lambda s: (s.step, s.name))))


@dataclass
class Checkpoints:
    """Counts the instants a crash is tried at; SIGKILLs the process at the ``crash_after``-th."""

    crash_after: int | None = None
    labels: list[str] = field(default_factory=list)

    def __call__(self, label: str) -> None:
        self.labels.append(label)
        if self.crash_after is not None and len(self.labels) >= self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)


class CheckpointedExecution:
    """A real ``Execution`` client with checkpoints where a crash hurts most."""

    def __init__(self, inner: Execution, checkpoint: Checkpoints) -> None:
        self.inner = inner
        self.checkpoint = checkpoint

    def submit(self, order: Order) -> Order:
        ack = self.inner.submit(order)
        self.checkpoint("venue_ack")  # the venue has the order; the ledger still says PENDING
        return ack

    def poll_events(self) -> list[Any]:
        events = self.inner.poll_events()
        self.checkpoint("events_taken")  # drained from the broker, not yet recorded
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Venue:
    clock: SimClock
    exchange: SimExchange
    client: SimExecutionClient
    ledger: SqliteLedger


def open_venue(workdir: Path, clock: SimClock | None = None) -> Venue:
    """Open (or resume) the durable venue and the ledger in ``workdir``."""
    clock = clock or SimClock(T0)
    # fsync is for power cuts; a killed process loses nothing the kernel already has.
    config = SimExchangeConfig(fill_on=FillOn.NEXT_QUOTE, fsync=False)
    exchange = SimExchange(config, clock, workdir / "venue.pkl")
    exchange.open_account(ACCOUNT, Money(1_000_000), margin=True)
    client = SimExecutionClient(exchange, ACCOUNT)
    return Venue(clock, exchange, client, open_ledger(ledger_location(workdir), clock))


def ledger_location(workdir: Path) -> Path | str:
    """The ledger of ``workdir``: the PostgreSQL URL in its ``ledger.url``, else a SQLite file."""
    url_file = workdir / LEDGER_URL_FILE
    return url_file.read_text().strip() if url_file.exists() else workdir / "ledger.db"


def _context(venue: Venue) -> RiskContext:
    quotes = {s.id: q for s in SYMBOLS if (q := venue.exchange.last_quote(s.id)) is not None}
    return RiskContext(
        now=venue.clock.now(),
        market_open=True,
        balance=venue.client.balance(),
        positions={p.instrument.id: p for p in venue.ledger.positions(ACCOUNT)},
        open_orders=venue.ledger.orders(ACCOUNT, [s for s in OrderStatus if s.is_open]),
        daily_pnl=Money(0),
        quotes=quotes,
    )


def run_session(workdir: Path, seed: int, crash_after: int | None = None) -> Checkpoints:
    """Run (or resume) the session of ``seed``; returns the checkpoints passed."""
    checkpoint = Checkpoints(crash_after)
    venue = open_venue(workdir)
    execution = CheckpointedExecution(venue.client, checkpoint)
    try:
        Reconciler(ACCOUNT, execution, venue.ledger, venue.clock).reconcile()
        checkpoint("reconciled")
        service = ExecutionService(
            ACCOUNT,
            execution,
            venue.ledger,
            RiskEngine(LIMITS),
            venue.clock,
            offset_cents=2,
            sleep=lambda _: None,
        )
        script = make_script(seed)
        for step in range(STEPS):
            at = T0 + timedelta(minutes=step)
            if at > venue.clock.now():
                venue.clock.set(at)
            for quote in script.quotes[step]:
                seen = venue.exchange.last_quote(quote.instrument_id)
                if seen is None or seen.ts < quote.ts:
                    venue.exchange.on_quote(quote)
                    checkpoint("quote")
            for sig in (s for s in script.signals if s.step == step):
                service.execute(sig.suggestion(at), _context(venue))
                checkpoint("executed")
            service.process_events()
            checkpoint("recorded")
    finally:
        venue.ledger.close()
    return checkpoint


def main(argv: list[str]) -> int:
    workdir, seed = Path(argv[0]), int(argv[1])
    crash_after = int(argv[2]) if len(argv) > 2 else None
    print("READY", flush=True)
    run_session(workdir, seed, crash_after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
