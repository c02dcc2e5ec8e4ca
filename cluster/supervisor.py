"""``Supervisor``: starts, inspects, restarts and stops the desk's named actors.

It starts the embedded Redis once when no URL is configured (with a loopback TCP port, so
actors on any worker reach it) and hands its URL to every actor. Actors are created with
``get_if_exists=True``: running ``up`` against a live desk attaches to it instead of doubling
it. Health is a ``ping`` in each actor's health group, which answers even mid-cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from actors import NAMESPACE, SCHEDULER_NAME, account_actor_name, market_data_actor_name
from actors.account import spawn_account
from actors.market_data import spawn_market_data
from actors.scheduler import spawn_scheduler
from adapters.account.spec import AccountSpec
from adapters.brokers.factory import check_broker
from adapters.cache import EmbeddedRedis
from adapters.store.universe import UNIVERSE_FILE
from cluster.synthetic import synthetic_config
from cluster.tasks import DeskPaths
from cluster.tasks.handlers import desk_handlers
from configs import Settings
from configs.notifications import NotificationsConfig
from core.errors import ConfigError
from core.trading.options import OptionsSpec

DEFAULT_SOURCE = "store"
PING_TIMEOUT_S = 5.0


@dataclass
class Desk:
    """Handles of the running desk's actors, by Ray name."""

    accounts: dict[str, Any]
    market_data: Any
    scheduler: Any
    specs: dict[str, AccountSpec] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.accounts, market_data_actor_name(DEFAULT_SOURCE), SCHEDULER_NAME]


@dataclass(frozen=True, slots=True)
class ActorStatus:
    name: str
    alive: bool
    detail: str


class Supervisor:
    """The desk of ``settings``: one account actor per account, market data, the scheduler.

    ``start``: the simulated start instant of a replay (``None``: the real clock).
    ``crash_after_submits``: fault injection per account id (tests). ``options``: how the
    ``trident`` accounts trade (default: the strategy's defaults). ``notify``: where
    notifications go (default: the settings' ``notify`` section if any, else nowhere).
    """

    def __init__(
        self,
        settings: Settings,
        state_dir: Path,
        *,
        start: datetime | None = None,
        accounts: Sequence[str] | None = None,
        symbols: Sequence[str] | None = None,
        redis_url: str | None = None,
        scorer: str | None = None,
        crash_after_submits: Mapping[str, int] | None = None,
        options: OptionsSpec | None = None,
        notify: NotificationsConfig | None = None,
        venue: str = "sim",
        detached: bool = True,
        namespace: str = NAMESPACE,
    ) -> None:
        self.settings = settings
        self.state_dir = Path(state_dir)
        self.start = start
        chosen = list(accounts) if accounts is not None else [a.id for a in settings.accounts]
        unknown = sorted(set(chosen) - {a.id for a in settings.accounts})
        if unknown:
            raise ConfigError(f"accounts not in the settings: {', '.join(unknown)}")
        self.account_ids = chosen
        self.symbols = tuple(symbols or settings.data.symbols)
        self.scorer = scorer
        self.crash_after_submits = dict(crash_after_submits or {})
        self.options = options or OptionsSpec()
        self.notify = notify if notify is not None else settings.notifications
        self.venue = venue
        self.detached = detached
        self.namespace = namespace
        self._redis_url = redis_url or settings.redis.url
        self.redis: EmbeddedRedis | None = None
        self.desk: Desk | None = None

    @property
    def desk_paths(self) -> DeskPaths:
        """The desk tasks' folders: next to the state folder, the store where the settings say."""
        return DeskPaths.under(
            self.state_dir.resolve().parent, data_dir=Path(self.settings.data.data_dir).resolve()
        )

    @property
    def ledger_location(self) -> str | Path:
        """The ledger every actor opens: the PostgreSQL URL, or the SQLite file (absolute)."""
        location = self.settings.ledger.location
        return location if isinstance(location, str) else Path(location).resolve()

    # -- Redis -----------------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        if self._redis_url is None:
            self.redis = EmbeddedRedis(self.settings.redis.embedded_path, port=0).start()
            self._redis_url = self.redis.url
        return self._redis_url

    @property
    def scorer_url(self) -> str | None:
        """Where the accounts score: ``"serve"`` is the endpoint of ``settings.serve``.

        Over its HTTP listener, which each replica serves itself: a round trip there measured
        0.7 ms p50 against 3.3 ms through a Serve handle (``benchmarks/RESULTS.md``).
        """
        if self.scorer != "serve":
            return self.scorer
        serve = self.settings.serve
        host = "127.0.0.1" if serve.host in ("0.0.0.0", "::", "") else serve.host
        return f"http://{host}:{serve.port}"

    # -- actors ----------------------------------------------------------------------------
    def specs(self) -> list[AccountSpec]:
        preferences = {a.id: str(a.notify) for a in self.settings.accounts}
        market = synthetic_config(self.settings)
        return [
            AccountSpec(
                account=self.settings.account(account_id),
                ledger_path=self.ledger_location,
                state_dir=self.state_dir.resolve(),
                redis_url=self.redis_url,
                data_dir=Path(self.settings.data.data_dir).resolve(),
                symbols=self.symbols,
                start=self.start,
                scorer=self.scorer_url,
                scorer_token=self.settings.serve.token if self.scorer == "serve" else None,
                flatten_minutes_before_close=self.settings.scheduler.flatten_minutes_before_close,
                crash_after_submits=self.crash_after_submits.get(account_id),
                market=market,
                options=self.options,
                notify=self.notify,
                index_symbols=tuple(self.settings.data.index_symbols),
                preferences=preferences,
                venue=self.venue,
                universe_file=self.desk_paths.state_dir / UNIVERSE_FILE,
                earnings_blackout_sessions=self.settings.data.earnings_blackout_sessions,
                credentials=self.settings.credentials,
            )
            for account_id in self.account_ids
        ]

    def up(self) -> Desk:
        """Create (or attach to) every actor and wait until each answers a ping."""
        import ray

        Path(self.settings.ledger.path).parent.mkdir(parents=True, exist_ok=True)
        specs = {account_actor_name(s.account.id): s for s in self.specs()}
        for spec in specs.values():  # before any actor starts: a clear error, nothing half up
            check_venue(spec)
        accounts = {
            name: spawn_account(spec, detached=self.detached, namespace=self.namespace)
            for name, spec in specs.items()
        }
        market_data = spawn_market_data(
            DEFAULT_SOURCE,
            Path(self.settings.data.data_dir).resolve(),
            self.redis_url,
            detached=self.detached,
            namespace=self.namespace,
        )
        scheduler = spawn_scheduler(
            self.ledger_location,
            list(accounts),
            self.start or _now(),
            detached=self.detached,
            namespace=self.namespace,
            desk=partial(desk_handlers, self.settings, self.desk_paths),
            schedule=self.settings.scheduler.schedule(),
        )
        ray.get([h.ping.remote() for h in (*accounts.values(), market_data, scheduler)])
        self.desk = Desk(accounts, market_data, scheduler, specs)
        return self.desk

    def status(self) -> list[ActorStatus]:
        """Every desk actor (named in the namespace) and whether it answers a ping."""
        import ray

        names = sorted(
            n["name"]
            for n in ray.util.list_named_actors(all_namespaces=True)
            if n["namespace"] == self.namespace
        )
        out: list[ActorStatus] = []
        for name in names:
            out.append(_ping(name, self.namespace))
        return out

    def restart_dead(self) -> list[str]:
        """Re-create desk actors that are gone for good (Ray restarts the others itself)."""
        if self.desk is None:
            return []
        alive = {s.name for s in self.status() if s.alive}
        missing = [n for n in self.desk.accounts if n not in alive]
        for name in missing:
            self.desk.accounts[name] = spawn_account(
                self.desk.specs[name], detached=self.detached, namespace=self.namespace
            )
        return missing

    def down(self, stop_redis: bool = True) -> None:
        """Kill the desk's actors (no restart) and stop the embedded Redis this supervisor started."""
        import ray

        names = [
            *(account_actor_name(a) for a in self.account_ids),
            market_data_actor_name(DEFAULT_SOURCE),
            SCHEDULER_NAME,
        ]
        for name in names:
            try:
                ray.kill(ray.get_actor(name, namespace=self.namespace), no_restart=True)
            except ValueError:
                continue  # not running
        self.desk = None
        if stop_redis and self.redis is not None:
            self.redis.stop()
            self.redis = None


def check_venue(spec: AccountSpec) -> None:
    """``ConfigError`` (one clear line) if the account's broker adapter or venue simulator is missing."""
    if spec.venue == "sim":
        check_broker(spec.account)
    else:
        check_simulator(spec.venue)


def check_simulator(venue: str) -> None:
    """``ConfigError`` (one clear line) unless ``venue`` is ``sim`` or an available broker simulator."""
    if venue == "sim":
        return
    from simulators import SIMULATED_VENUES

    module = SIMULATED_VENUES.get(venue)
    if module is None:
        raise ConfigError(f"--venue: unknown {venue!r} (have sim, {', '.join(sorted(SIMULATED_VENUES))})")
    try:
        found = find_spec(module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ConfigError(f"--venue {venue}: the simulator is not available yet ({module} is missing)")


def _ping(name: str, namespace: str) -> ActorStatus:
    import ray

    try:
        handle = ray.get_actor(name, namespace=namespace)
        ray.get(handle.ping.remote(), timeout=PING_TIMEOUT_S)
    except ValueError:
        return ActorStatus(name, False, "not found")
    except ray.exceptions.GetTimeoutError:
        return ActorStatus(name, False, "no answer (restarting or busy)")
    except ray.exceptions.RayError as exc:
        return ActorStatus(name, False, type(exc).__name__)
    return ActorStatus(name, True, "alive")


def _now() -> datetime:
    from core.clock import LiveClock

    return LiveClock().now()
