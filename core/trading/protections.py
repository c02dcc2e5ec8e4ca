"""Protections: the stop and target of each position the account opened, kept in the ledger.

An entry's stop and target are appended to the ledger (``trading.protection``) when its order
is sent, so monitoring still knows them after a restart. The latest record of an instrument
wins, and it only applies while the position is on the side it was recorded for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.model import AccountId, Position
from core.ports.ledger import Ledger

PROTECTION_EVENT: Final = "trading.protection"
Side = Literal["long", "short"]
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class Protection:
    symbol: str
    strategy: str
    side: Side
    stop: float | None
    target: float | None
    client_order_id: str

    def applies_to(self, position: Position) -> bool:
        return not position.is_flat and (position.net > 0) == (self.side == "long")

    def hit(self, price: float) -> str | None:
        """``"stop"`` or ``"target"`` when ``price`` reached it, else None (stop checked first)."""
        if not math.isfinite(price):
            return None
        long = self.side == "long"
        if self.stop is not None and (price <= self.stop if long else price >= self.stop):
            return "stop"
        if self.target is not None and (price >= self.target if long else price <= self.target):
            return "target"
        return None

    def to_payload(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "strategy": self.strategy,
            "side": self.side,
            "stop": self.stop,
            "target": self.target,
            "client_order_id": self.client_order_id,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Protection:
        side: Side = "short" if payload.get("side") == "short" else "long"
        stop, target = payload.get("stop"), payload.get("target")
        return cls(
            symbol=str(payload["symbol"]),
            strategy=str(payload["strategy"]),
            side=side,
            stop=None if stop is None else float(stop),
            target=None if target is None else float(target),
            client_order_id=str(payload.get("client_order_id", "")),
        )


class ProtectionBook:
    """The account's protections by symbol, rebuilt from and written to the ledger."""

    def __init__(self, account_id: AccountId, ledger: Ledger) -> None:
        self.account_id = account_id
        self._ledger = ledger
        self._by_symbol: dict[str, Protection] = {}

    def load(self) -> int:
        """Rebuild from the ledger (latest record per symbol); returns how many symbols."""
        self._by_symbol.clear()
        seq = 0
        while batch := self._ledger.events(seq, _PAGE, self.account_id, PROTECTION_EVENT):
            for event in batch:
                protection = Protection.from_payload(event.payload)
                self._by_symbol[protection.symbol] = protection
            seq = batch[-1].seq
        return len(self._by_symbol)

    def record(self, protection: Protection) -> None:
        self._ledger.append_event(PROTECTION_EVENT, protection.to_payload(), self.account_id)
        self._by_symbol[protection.symbol] = protection

    def for_position(self, position: Position) -> Protection | None:
        protection = self._by_symbol.get(str(position.instrument.id))
        return protection if protection is not None and protection.applies_to(position) else None

    def __len__(self) -> int:
        return len(self._by_symbol)
