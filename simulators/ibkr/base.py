"""What every part of the fake TWS shares: its state, its client sessions, contract reading."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from adapters.brokers.ibkr.parsing import instrument_from_fields
from adapters.brokers.sim import SimExchange
from core.clock import Clock
from core.errors import RaydeskError
from core.model import AccountId, Instrument
from simulators.ibkr.wire import Field, FieldReader, frame


def _digest(text: str, hex_digits: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:hex_digits], 16)


def con_id_of(instrument: Instrument) -> int:
    """A stable contract id per instrument (TWS's are stable too)."""
    return _digest(str(instrument.id), 7) + 1000


def perm_id_of(order_ref: str) -> int:
    """A permanent order id, stable for an order whichever fake TWS instance serves it."""
    return 2_000_000_000 + _digest(order_ref, 7)


def exec_id_of(perm_id: int, key: str) -> str:
    """An execution id in TWS's shape, unique per (order, execution ``key``) across restarts."""
    return f"{perm_id:08x}.{_digest(key, 8):08x}.01.01"


@dataclass
class Session:
    """One connected API client."""

    writer: asyncio.StreamWriter
    client_id: int = -1
    ticks: dict[int, Instrument] = field(default_factory=dict)
    sent: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def send(self, *fields: Field) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame(*fields))


class TwsState:
    """State and helpers of ``FakeTws`` that its order and market-data parts use."""

    exchange: SimExchange
    clock: Clock
    account_id: AccountId
    ib_account: str
    sessions: list[Session]
    listed: dict[int, Instrument]

    def pump(self) -> None:
        raise NotImplementedError

    def _values(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _clients(self, client_id: int) -> list[Session]:
        return [s for s in self.sessions if s.client_id in (client_id, 0)]

    # -- contracts ---------------------------------------------------------------------------
    def _read_contract(self, r: FieldReader) -> tuple[int, Instrument | None, str]:
        con_id, symbol, sec_type, expiry = r.next_int(), r.next_str(), r.next_str(), r.next_str()
        strike, right, multiplier = r.next_float(), r.next_str(), r.next_str()
        r.skip(4)  # exchange, primaryExchange, currency, localSymbol
        trading_class = r.next_str()
        if con_id and con_id in self.listed:
            return con_id, self.listed[con_id], sec_type
        try:
            instrument = instrument_from_fields(
                symbol, sec_type, expiry, strike, right, multiplier, trading_class
            )
        except (RaydeskError, ValueError):
            instrument = None
        if instrument is not None:
            self.listed.setdefault(con_id_of(instrument), instrument)
        return con_id, instrument, sec_type
