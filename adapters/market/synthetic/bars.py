"""Synthetic 1-minute bars over the real XNYS sessions, vectorised with numpy per symbol.

Model, per symbol (see ``SyntheticMarketConfig`` for the knobs):

* an efficient log price: Gaussian minute returns whose volatility follows a Markov
  low/high regime per session and a U-shaped intraday profile, plus Poisson jumps, plus
  (edge on) a persistent daily drift regime; sessions are joined by an overnight gap;
* the observed price: the efficient price plus (edge on) a mean-reverting AR(1) deviation,
  reset at each open, which is the intraday edge;
* volume and spreads: U-shaped through the day, higher in the high-volatility regime.

Every random draw happens whether or not the edges are on, so the same seed gives the same
noise with and without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from adapters.market.synthetic.config import MEAN_REVERSION_SCALE, SyntheticMarketConfig, symbol_rng
from adapters.store.schema import BAR_COLUMNS, BAR_SCHEMA, TS_DTYPE, empty_bars
from core.calendar import NEW_YORK, MarketCalendar
from core.errors import DataError

MAX_MINUTES = 390
TRADING_DAYS = 252
_MINUTE_US = 60_000_000


@dataclass(frozen=True, slots=True)
class SessionGrid:
    """The sessions of a date range: their dates, open (epoch µs, UTC) and length in minutes."""

    sessions: tuple[date, ...]
    open_us: np.ndarray
    minutes: np.ndarray

    @classmethod
    def build(cls, start: date, end: date) -> SessionGrid:
        cal = MarketCalendar(start, end)
        sessions = cal.sessions(start, end)
        if not sessions:
            raise DataError(f"no XNYS sessions between {start} and {end}")
        hours = [cal.session_open_close(d) for d in sessions]
        open_us = np.array([_epoch_us(o) for o, _ in hours], dtype=np.int64)
        minutes = np.array([(c - o) // timedelta(minutes=1) for o, c in hours], dtype=np.int64)
        return cls(tuple(sessions), open_us, minutes)

    def mask(self) -> np.ndarray:
        """(sessions, 390) boolean: which minute slots are real bars."""
        return np.arange(MAX_MINUTES)[None, :] < self.minutes[:, None]


@dataclass(frozen=True, slots=True)
class SymbolPath:
    """One symbol's generated bars plus the per-session state behind them."""

    symbol: str
    bars: pl.DataFrame
    sessions: tuple[date, ...]
    session_vol: np.ndarray  # annualised volatility of each session's regime
    high_vol: np.ndarray  # bool per session
    trend: np.ndarray  # -1, 0, +1 per session (all 0 with the edge off)


def _epoch_us(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000 + ts.microsecond


def _markov(rng: np.random.Generator, n: int, p_up: float, p_down: float) -> np.ndarray:
    """A two-state chain (False=low, True=high) started from its stationary distribution."""
    u = rng.random(n)
    state = np.empty(n, dtype=bool)
    stationary_high = p_up / (p_up + p_down) if p_up + p_down > 0 else 0.0
    current = bool(u[0] < stationary_high)
    for i in range(n):
        if i:
            current = (u[i] >= p_down) if current else (u[i] < p_up)
        state[i] = current
    return state


def _trend_states(rng: np.random.Generator, n: int, mean_days: float) -> np.ndarray:
    """A regime in {-1, 0, +1} that switches with probability 1/mean_days per session."""
    switch = rng.random(n) < 1.0 / mean_days
    pick = rng.integers(1, 3, n)  # move to one of the two other states
    states = np.empty(n, dtype=np.int64)
    current = int(rng.integers(-1, 2))
    for i in range(n):
        if switch[i]:
            current = (current + 1 + int(pick[i])) % 3 - 1
        states[i] = current
    return states


def _profile(minutes: np.ndarray, first: float, last: float, tau_open: float, tau_close: float) -> np.ndarray:
    """(sessions, 390) U-shaped intraday multiplier, 1 at mid-day."""
    m = np.arange(MAX_MINUTES, dtype=np.float64)[None, :]
    to_close = (minutes[:, None] - 1 - m).clip(min=0)
    return 1.0 + first * np.exp(-m / tau_open) + last * np.exp(-to_close / tau_close)


def _ar1_matrix(phi: float) -> np.ndarray:
    """P with d = eta @ P for the AR(1) d_t = phi d_{t-1} + eta_t started at 0."""
    k = np.arange(MAX_MINUTES)
    lag = k[None, :] - k[:, None]
    return np.where(lag >= 0, phi ** lag.clip(min=0), 0.0)


def simulate_symbol(config: SyntheticMarketConfig, symbol: str, grid: SessionGrid) -> SymbolPath:
    """Generate the bars of one symbol over ``grid``."""
    p = config.params(symbol)
    rng = symbol_rng(config.seed, symbol)
    n, shape, mask = len(grid.sessions), (len(grid.sessions), MAX_MINUTES), grid.mask()
    lengths = grid.minutes.astype(np.float64)[:, None]

    high = _markov(rng, n, config.p_low_to_high, config.p_high_to_low)
    trend = _trend_states(rng, n, config.trend_mean_days)
    vol_mult = np.where(high, config.high_vol_multiplier, 1.0)
    daily_vol = p.annual_vol / np.sqrt(TRADING_DAYS) * vol_mult
    edge = 1.0 if config.edge_enabled else 0.0
    drift = edge * config.trend_strength * (p.annual_vol / np.sqrt(TRADING_DAYS)) * trend

    vol_shape = _profile(grid.minutes, 1.2, 0.5, 25.0, 20.0) * mask
    vol_shape /= np.sqrt((vol_shape**2).sum(axis=1, keepdims=True) / lengths)
    minute_vol = daily_vol[:, None] / np.sqrt(lengths) * vol_shape

    eps = rng.standard_normal(shape)
    jump_count = rng.poisson(config.jumps_per_year / (TRADING_DAYS * MAX_MINUTES), shape)
    jump_size = rng.standard_normal(shape) * config.jump_vol * np.sqrt(jump_count)
    eta = rng.standard_normal(shape)
    gaps = rng.standard_normal(n) * config.overnight_vol_fraction * daily_vol
    range_up, range_down = np.abs(rng.standard_normal(shape)), np.abs(rng.standard_normal(shape))
    volume_noise = rng.standard_normal(shape)
    spread_noise = rng.standard_normal(shape)

    efficient = (minute_vol * eps + drift[:, None] / lengths + jump_size) * mask
    efficient_path = np.cumsum(efficient, axis=1)
    day_move = efficient_path[np.arange(n), grid.minutes - 1]
    gaps[0] = 0.0
    session_open = np.log(p.base_price) + np.cumsum(gaps) + np.concatenate(([0.0], np.cumsum(day_move)[:-1]))

    phi = 0.5 ** (1.0 / config.mean_reversion_half_life)
    deviation = (
        edge * MEAN_REVERSION_SCALE * config.mean_reversion_strength * minute_vol * eta * mask
    ) @ _ar1_matrix(phi)
    log_close = session_open[:, None] + efficient_path + deviation
    log_open = np.concatenate((session_open[:, None], log_close[:, :-1]), axis=1)
    close, open_ = np.exp(log_close), np.exp(log_open)
    wick = 0.5 * minute_vol
    high_px = np.maximum(open_, close) * np.exp(wick * range_up)
    low_px = np.minimum(open_, close) * np.exp(-wick * range_down)

    volume_shape = _profile(grid.minutes, 2.5, 3.0, 20.0, 15.0)
    regime_volume = np.where(high, 1.6, 1.0)[:, None]
    volume = np.maximum(
        1.0, np.round(p.base_volume * volume_shape * regime_volume * np.exp(0.5 * volume_noise - 0.125))
    )

    spread_shape = _profile(grid.minutes, 1.5, 0.8, 15.0, 10.0)
    spread_bps = p.spread_bps * np.sqrt(vol_mult)[:, None] * spread_shape * np.exp(0.2 * spread_noise)
    half_spread = np.maximum(0.01, close * spread_bps * 1e-4) / 2
    bid = np.maximum(0.01, np.floor((close - half_spread) * 100) / 100)
    ask = np.maximum(bid + 0.01, np.ceil((close + half_spread) * 100) / 100)

    ts = grid.open_us[:, None] + np.arange(MAX_MINUTES, dtype=np.int64)[None, :] * _MINUTE_US
    columns = {
        "ts": ts[mask],
        "open": np.round(open_[mask], 4),
        "high": np.round(high_px[mask], 4),
        "low": np.round(low_px[mask], 4),
        "close": np.round(close[mask], 4),
        "volume": volume[mask],
        "bid": np.round(bid[mask], 2),
        "ask": np.round(ask[mask], 2),
    }
    frame = pl.DataFrame(columns).with_columns(
        pl.lit(symbol, pl.String).alias("symbol"),
        pl.from_epoch(pl.col("ts"), time_unit="us").dt.replace_time_zone("UTC"),
    )
    return SymbolPath(
        symbol=symbol,
        bars=frame.select(BAR_COLUMNS),
        sessions=grid.sessions,
        session_vol=p.annual_vol * vol_mult,
        high_vol=high,
        trend=trend * int(edge),
    )


def generate_bars(config: SyntheticMarketConfig, symbols: list[str] | None = None) -> pl.DataFrame:
    """1-minute bars for ``symbols`` (default: all of the config's), sorted by symbol then ts."""
    grid = SessionGrid.build(config.start, config.end)
    names = list(config.symbols if symbols is None else symbols)
    frames = [simulate_symbol(config, s, grid).bars for s in sorted(names)]
    return pl.concat(frames) if frames else empty_bars()


def daily_bars(minute_bars: pl.DataFrame) -> pl.DataFrame:
    """Aggregate intraday bars into one bar per symbol and session.

    ``ts`` of a daily bar is the session's close (UTC), the instant the bar is complete, so a
    daily bar with ``ts <= now`` never leaks the future. ``bid``/``ask`` are the last quote.
    """
    if minute_bars.is_empty():
        return empty_bars()
    with_day = minute_bars.sort("symbol", "ts").with_columns(
        pl.col("ts").dt.convert_time_zone(NEW_YORK.key).dt.date().alias("_session")
    )
    days: list[date] = with_day.get_column("_session").unique().sort().to_list()
    cal = MarketCalendar(days[0], days[-1])
    closes = pl.DataFrame(
        {"_session": days, "ts": [cal.session_open_close(d)[1] for d in days]},
        schema={"_session": pl.Date, "ts": TS_DTYPE},
    )
    daily = with_day.group_by("symbol", "_session", maintain_order=True).agg(
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("volume").sum(),
        pl.col("bid").last(),
        pl.col("ask").last(),
    )
    return daily.join(closes, on="_session", how="left").select(BAR_COLUMNS).cast(BAR_SCHEMA)  # type: ignore[arg-type]
