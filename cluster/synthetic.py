"""The synthetic market of the settings, generated into the parquet store."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.market.synthetic import SessionGrid, SyntheticMarketConfig, daily_bars, simulate_symbol
from adapters.store import BarStore


def parse_symbols(text: str) -> tuple[str, ...]:
    text = text.strip()
    if text.isdigit():
        return (
            tuple(SyntheticMarketConfig().symbols[: int(text)])
            if int(text) <= 20
            else tuple(f"SYN{i:03d}" for i in range(int(text)))
        )
    return tuple(s.strip().upper() for s in text.split(",") if s.strip())


def synthetic_config(
    settings: Any | None,
    symbols: str | None = None,
    start: date | None = None,
    end: date | None = None,
    seed: int | None = None,
    no_edge: bool = False,
) -> SyntheticMarketConfig:
    """The synthetic market of the settings, with any of its knobs overridden."""
    data = settings.data if settings is not None else None
    market = settings.market if settings is not None else None
    base = SyntheticMarketConfig()
    return SyntheticMarketConfig(
        seed=seed if seed is not None else (data.seed if data else base.seed),
        symbols=parse_symbols(symbols) if symbols else (tuple(data.symbols) if data else base.symbols),
        start=start or (data.start if data else base.start),
        end=end or (data.end if data else base.end),
        edge_enabled=not no_edge and (market.edge_enabled if market else True),
        mean_reversion_strength=market.mean_reversion_strength if market else base.mean_reversion_strength,
        trend_strength=market.trend_strength if market else base.trend_strength,
    )


def write_synthetic(config: SyntheticMarketConfig, store: BarStore, console: Console) -> int:
    """Generate ``config``'s 1-minute and daily bars into ``store`` with a progress bar; rows written."""
    grid = SessionGrid.build(config.start, config.end)
    rows = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("generating", total=len(config.symbols))
        for symbol in config.symbols:
            progress.update(task, description=f"generating {symbol}")
            minute = simulate_symbol(config, symbol, grid).bars
            store.write(minute, "1m")
            store.write(daily_bars(minute), "1d")
            rows += minute.height
            progress.advance(task)
    edge = "with edges" if config.edge_enabled else "without edges"
    console.print(
        f"{len(config.symbols)} symbols, {len(grid.sessions)} sessions "
        f"({config.start} to {config.end}), {rows:,} minute bars, seed {config.seed}, {edge} -> {store.root}"
    )
    return rows
