"""Brokerage accounts, their risk limits, and broker credentials (secrets)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from configs.components import Strict

__all__ = [
    "AccountConfig",
    "AlpacaCredentials",
    "Broker",
    "BrokerCredentials",
    "IbkrConnection",
    "Mode",
    "Notify",
    "RiskLimits",
    "TastytradeCredentials",
    "live_trading_allowed",
]

Broker = Literal["sim", "alpaca", "tastytrade", "ibkr"]
Mode = Literal["paper", "live"]
Notify = Literal["immediate", "daily", "weekly", "never"]

_live_allowed: ContextVar[bool] = ContextVar("raydesk_live_allowed", default=False)


@contextmanager
def live_trading_allowed(allowed: bool = True) -> Iterator[None]:
    """Within this block, accounts may be configured with ``mode = "live"`` (the ``--live``)."""
    token = _live_allowed.set(allowed)
    try:
        yield
    finally:
        _live_allowed.reset(token)


class RiskLimits(Strict):
    """Limits the risk engine enforces before any order reaches the broker."""

    max_risk_per_trade: Decimal = Field(
        default=Decimal("250"), gt=0, description="Most one trade may lose at its stop, account currency."
    )
    max_open_positions: int = Field(default=5, ge=1, description="Most positions open at the same time.")
    max_exposure_per_symbol: Decimal = Field(
        default=Decimal("10000"), gt=0, description="Most notional held in one underlying."
    )
    daily_loss_limit: Decimal = Field(
        default=Decimal("1000"),
        gt=0,
        description="Realised plus unrealised loss in a session at which new entries stop.",
    )
    stale_quote_seconds: float = Field(
        default=30.0, gt=0, description="Quotes older than this are refused for pricing orders."
    )
    kill_switch: bool = Field(default=False, description="When true, no new orders are sent at all.")


class AccountConfig(Strict):
    """One brokerage account, run by one account actor."""

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$",
        description="Unique account id (lower case, digits, '-' and '_').",
    )
    broker: Broker = Field(description="Broker adapter: sim, alpaca, tastytrade or ibkr.")
    mode: Mode = Field(
        default="paper", description="paper (default) or live; live needs the explicit --live opt-in."
    )
    strategies: list[str] = Field(min_length=1, description="Strategies this account trades.")
    risk: RiskLimits = Field(default_factory=RiskLimits, description="Risk limits.")
    automation_enabled: bool = Field(
        default=True, description="Place orders automatically; false only produces suggestions."
    )
    entry_offset_cents: int = Field(
        default=4, ge=0, description="Entry limit offset from the mid, in cents (floored at natural)."
    )
    notify: Notify = Field(default="immediate", description="Alert delivery: immediate, daily, weekly or never.")
    bankroll: Decimal = Field(
        default=Decimal("100000"), gt=0, description="Capital the account's sizing is based on."
    )
    resources: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Custom Ray resources the account's actor needs (places it on the nodes that offer them).",
    )

    @field_validator("mode")
    @classmethod
    def _live_needs_opt_in(cls, mode: Mode) -> Mode:
        if mode == "live" and not _live_allowed.get():
            raise ValueError(
                "live trading requires an explicit opt-in (--live, or allow_live=True); paper is the default"
            )
        return mode

    @model_validator(mode="after")
    def _sim_is_paper(self) -> Self:
        if self.broker == "sim" and self.mode == "live":
            raise ValueError("the simulated broker has no live mode")
        return self


class AlpacaCredentials(Strict):
    """Alpaca API keys (secrets: environment or secret files only).

    Unset keys fall back to ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``
    (``adapters.brokers.alpaca.config``). Paper unless the account's mode is live (``--live``).
    The URL overrides point the adapter at a local simulator (``simulators.alpaca``).
    """

    api_key: SecretStr | None = Field(default=None, description="Alpaca API key id.")
    api_secret: SecretStr | None = Field(default=None, description="Alpaca API secret key.")
    trading_url: str = Field(default="", description="Trading REST base URL override, without /v2.")
    stream_url: str = Field(default="", description="trade_updates websocket URL override.")
    data_url: str = Field(default="", description="Market-data REST base URL override, without /v2.")
    data_stream_url: str = Field(default="", description="Market-data websocket URL override (full endpoint).")
    feed: Literal["iex", "sip"] = Field(default="iex", description="Market-data feed: iex (free) or sip.")


class TastytradeCredentials(Strict):
    """Tastytrade OAuth credentials (secrets: environment or secret files only).

    The certification (paper) environment by default; ``live = true`` needs ``--live``. The
    URL overrides point the adapter at a local simulator (``simulators.tastytrade``).
    """

    provider_secret: SecretStr | None = Field(default=None, description="OAuth client (provider) secret.")
    refresh_token: SecretStr | None = Field(default=None, description="OAuth refresh token.")
    account: str = Field(default="", description="Account number (5WT...); empty: the only one.")
    live: bool = Field(default=False, description="Production API instead of certification (needs --live).")
    api_url: str = Field(default="", description="REST base URL override (a local simulator).")
    streamer_url: str = Field(default="", description="Account-streamer websocket URL override.")

    @field_validator("live")
    @classmethod
    def _live_needs_opt_in(cls, live: bool) -> bool:
        if live and not _live_allowed.get():
            raise ValueError("the production Tastytrade API needs the explicit --live opt-in")
        return live


ENV_FALLBACK = {"alpaca.api_key": "APCA_API_KEY_ID", "alpaca.api_secret": "APCA_API_SECRET_KEY"}
"""Environment variables a missing secret falls back to (Alpaca's own names, seed 001)."""

IBKR_LIVE_PORTS = frozenset({7496, 4001})
"""TWS (7496) and IB Gateway (4001) live-trading API ports; 7497 and 4002 are paper."""


class IbkrConnection(Strict):
    """Where the IB Gateway / TWS listens; it holds the login itself, so nothing here is secret.

    Unset fields fall back to ``IBKR_HOST``, ``IBKR_PORT``, ``IBKR_CLIENT_ID`` and
    ``IBKR_ACCOUNT`` (``adapters.brokers.ibkr.config``). A live port needs ``--live``.
    """

    host: str = Field(default="127.0.0.1", description="IB Gateway or TWS host.")
    port: int = Field(
        default=7497, ge=1, le=65535, description="API port: 7497 TWS paper (default), 7496 TWS live."
    )
    client_id: int = Field(default=1, ge=0, description="API client id, unique per connection.")
    account: str = Field(default="", description="IB account code (DU... paper); empty: the only one.")
    max_requests_per_second: int = Field(
        default=45, ge=0, le=50, description="Client-side pacing (TWS allows 50/s); 0 only for the fake TWS."
    )

    @field_validator("port")
    @classmethod
    def _live_port_needs_opt_in(cls, port: int) -> int:
        if port in IBKR_LIVE_PORTS and not _live_allowed.get():
            raise ValueError(f"port {port} is a live-trading port; it needs the explicit --live opt-in")
        return port


class BrokerCredentials(Strict):
    """Credentials and connection details per broker."""

    alpaca: AlpacaCredentials = Field(default_factory=AlpacaCredentials, description="Alpaca.")
    tastytrade: TastytradeCredentials = Field(
        default_factory=TastytradeCredentials, description="Tastytrade."
    )
    ibkr: IbkrConnection = Field(default_factory=IbkrConnection, description="Interactive Brokers.")

    def missing_for(self, broker: Broker) -> list[str]:
        """Dotted names (under ``credentials``) of the secrets ``broker`` needs but lacks."""
        required: dict[str, tuple[str, ...]] = {
            "alpaca": ("api_key", "api_secret"),
            "tastytrade": ("provider_secret", "refresh_token"),
        }
        section = getattr(self, broker, None)
        return [
            f"{broker}.{name}"
            for name in required.get(broker, ())
            if getattr(section, name) is None and not os.environ.get(ENV_FALLBACK.get(f"{broker}.{name}", ""))
        ]
