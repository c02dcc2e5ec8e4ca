"""Instruments: equities and option contracts, with OCC and DXLink streamer symbology.

OCC symbols are 21 characters when padded: a root space-padded to 6, the expiry as YYMMDD,
``C`` or ``P``, and the strike times 1000 as 8 digits (``QQQ   251219P00622000``). Alpaca uses
the same without padding (``QQQ251219P00622000``); the DXLink streamer symbol is
``.QQQ251219P622`` (strike without trailing zeros, ``622.5`` kept as is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.errors import InvalidSymbol, InvalidValue
from core.model.identifiers import InstrumentId
from core.model.values import Number, to_decimal

# OCC roots whose underlying has another name (weekly or PM-settled index classes).
ROOT_UNDERLYING: dict[str, str] = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX"}
# Cash-settled index options (settle to cash at expiry instead of delivering shares).
CASH_SETTLED_UNDERLYINGS = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP", "DJX"})

_OCC = re.compile(r"^(?P<root>[A-Z0-9]{1,6}) *(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
_STREAMER = re.compile(
    r"^\.(?P<root>[A-Z0-9]{1,6})(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d+(?:\.\d{1,3})?)$"
)
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,14}$")


class OptionRight(StrEnum):
    CALL = "C"
    PUT = "P"


class AssetClass(StrEnum):
    EQUITY = "equity"
    OPTION = "option"


@dataclass(frozen=True, slots=True)
class Equity:
    """A share of a listed company or fund, traded in whole or fractional units."""

    symbol: str
    multiplier: int = field(default=1, init=False)
    asset_class: AssetClass = field(default=AssetClass.EQUITY, init=False)

    def __post_init__(self) -> None:
        if not _TICKER.match(self.symbol):
            raise InvalidSymbol(f"not a ticker symbol: {self.symbol!r}")

    @property
    def id(self) -> InstrumentId:
        return InstrumentId(self.symbol)

    @property
    def underlying(self) -> str:
        return self.symbol

    def __str__(self) -> str:
        return self.symbol


def _parse_ymd(ymd: str, symbol: str) -> date:
    try:
        return date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:6]))
    except ValueError as exc:
        raise InvalidSymbol(f"bad expiry date {ymd!r} in option symbol {symbol!r}") from exc


@dataclass(frozen=True, slots=True)
class OptionContract:
    """A listed option. ``root`` is the OCC root (``SPXW``); ``underlying`` what it is on (``SPX``)."""

    underlying: str
    expiry: date
    right: OptionRight
    strike: Decimal
    multiplier: int = 100
    root: str = ""
    asset_class: AssetClass = field(default=AssetClass.OPTION, init=False)

    def __init__(
        self,
        underlying: str,
        expiry: date,
        right: OptionRight | str,
        strike: Number,
        multiplier: int = 100,
        root: str = "",
    ) -> None:
        strike_d = to_decimal(strike, "strike")
        if strike_d <= 0 or (strike_d * 1000) % 1 != 0 or strike_d >= 100_000:
            raise InvalidValue(f"strike must be positive with at most 3 decimals, got {strike}")
        if multiplier <= 0:
            raise InvalidValue(f"multiplier must be positive, got {multiplier}")
        root = root or underlying
        if not re.fullmatch(r"[A-Z0-9]{1,6}", root):
            raise InvalidSymbol(f"bad option root {root!r}")
        object.__setattr__(self, "underlying", underlying)
        object.__setattr__(self, "expiry", expiry)
        object.__setattr__(self, "right", OptionRight(right))
        object.__setattr__(
            self, "strike", strike_d.normalize() if strike_d % 1 else strike_d.quantize(Decimal(1))
        )
        object.__setattr__(self, "multiplier", multiplier)
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "asset_class", AssetClass.OPTION)

    # -- symbology -------------------------------------------------------------------------
    def _occ_tail(self) -> str:
        return f"{self.expiry:%y%m%d}{self.right.value}{int(self.strike * 1000):08d}"

    @property
    def occ(self) -> str:
        """The padded 21-character OCC symbol, e.g. ``QQQ   251219P00622000``."""
        return f"{self.root:<6}{self._occ_tail()}"

    @property
    def occ_unpadded(self) -> str:
        """The OCC symbol without padding (Alpaca's form), e.g. ``QQQ251219P00622000``."""
        return f"{self.root}{self._occ_tail()}"

    @property
    def streamer_symbol(self) -> str:
        """The DXLink streamer symbol, e.g. ``.QQQ251219P622`` or ``.QQQ251219P622.5``."""
        strike = format(self.strike.normalize(), "f")
        return f".{self.root}{self.expiry:%y%m%d}{self.right.value}{strike}"

    @property
    def id(self) -> InstrumentId:
        return InstrumentId(self.occ_unpadded)

    @property
    def is_cash_settled(self) -> bool:
        return self.underlying in CASH_SETTLED_UNDERLYINGS

    @classmethod
    def from_occ(cls, symbol: str, multiplier: int = 100) -> OptionContract:
        """Parse a padded or unpadded OCC symbol; raises ``InvalidSymbol`` showing the input."""
        m = _OCC.match(symbol) if isinstance(symbol, str) else None
        if m is None or (" " in symbol and len(symbol) != 21):
            raise InvalidSymbol(f"malformed OCC option symbol: {symbol!r}")
        root = m["root"]
        return cls(
            underlying=ROOT_UNDERLYING.get(root, root),
            expiry=_parse_ymd(m["ymd"], symbol),
            right=m["right"],
            strike=Decimal(int(m["strike"])) / 1000,
            multiplier=multiplier,
            root=root,
        )

    @classmethod
    def from_streamer_symbol(cls, symbol: str, multiplier: int = 100) -> OptionContract:
        """Parse a DXLink streamer symbol such as ``.QQQ251219P622.5``."""
        m = _STREAMER.match(symbol) if isinstance(symbol, str) else None
        if m is None:
            raise InvalidSymbol(f"malformed option streamer symbol: {symbol!r}")
        root = m["root"]
        return cls(
            underlying=ROOT_UNDERLYING.get(root, root),
            expiry=_parse_ymd(m["ymd"], symbol),
            right=m["right"],
            strike=Decimal(m["strike"]),
            multiplier=multiplier,
            root=root,
        )

    def __str__(self) -> str:
        return self.occ_unpadded


Instrument = Equity | OptionContract


def instrument_from_id(instrument_id: InstrumentId | str) -> Instrument:
    """The instrument named by an ``InstrumentId``: an OCC symbol or else an equity ticker."""
    text = str(instrument_id)
    if _OCC.match(text):
        return OptionContract.from_occ(text)
    return Equity(text)
