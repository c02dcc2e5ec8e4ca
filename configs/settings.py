"""The top-level ``Settings``: every component config, resolved from layered sources.

Build it with :func:`configs.loading.load_settings`, which turns every failure into a
``ConfigError`` that names the field, the value and where it came from.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from configs.accounts import AccountConfig, BrokerCredentials
from configs.components import (
    DataConfig,
    LedgerConfig,
    MarketConfig,
    RedisConfig,
    SchedulerConfig,
    ServeConfig,
    TrainingConfig,
)
from configs.notifications import NotificationsConfig
from configs.sources import ENV_PREFIX, NESTED, current_context

__all__ = ["REDACTED", "Settings", "default_accounts"]

REDACTED = "**********"


def default_accounts() -> list[AccountConfig]:
    """Three simulated paper accounts, one per built-in strategy family."""
    return [
        AccountConfig(id="intraday", broker="sim", strategies=["intraday_mean_reversion"]),
        AccountConfig(id="swing", broker="sim", strategies=["swing_trend_following"]),
        AccountConfig(id="options", broker="sim", strategies=["trident"]),
    ]


class Settings(BaseSettings):
    """The whole raydesk configuration. Paper trading on the simulated broker by default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED,
        case_sensitive=False,
        extra="forbid",
        validate_default=True,
    )

    profile: str = Field(default="default", description="The profile these settings were loaded from.")
    accounts: list[AccountConfig] = Field(
        default_factory=default_accounts, description="Brokerage accounts, one actor each."
    )
    data: DataConfig = Field(default_factory=DataConfig, description="Bars and features.")
    market: MarketConfig = Field(default_factory=MarketConfig, description="Synthetic market.")
    ledger: LedgerConfig = Field(default_factory=LedgerConfig, description="The ledger.")
    redis: RedisConfig = Field(default_factory=RedisConfig, description="Redis.")
    credentials: BrokerCredentials = Field(
        default_factory=BrokerCredentials, description="Broker credentials (secrets)."
    )
    serve: ServeConfig = Field(default_factory=ServeConfig, description="Scoring endpoint.")
    training: TrainingConfig = Field(default_factory=TrainingConfig, description="Training.")
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig, description="Schedules.")
    notifications: NotificationsConfig = Field(
        default_factory=NotificationsConfig, description="Alert channels and thresholds."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Layers are read from the loader's context: env mapping, secrets dir, files, profile.
        return current_context().sources(settings_cls, init_settings)

    @model_validator(mode="before")
    @classmethod
    def _profile_is_the_loaded_one(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "profile": current_context().profile}
        return data

    @model_validator(mode="after")
    def _unique_account_ids(self) -> Self:
        ids = [a.id for a in self.accounts]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate account id(s): {', '.join(duplicates)}")
        return self

    def account(self, account_id: str) -> AccountConfig:
        """The account with ``account_id`` (``KeyError`` if there is none)."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def redacted_dict(self) -> dict[str, Any]:
        """JSON-ready settings with every secret that is set replaced by ``**********``."""
        # Pydantic's JSON mode already renders a SecretStr as ten asterisks.
        dumped: dict[str, Any] = self.model_dump(mode="json")
        return dumped
