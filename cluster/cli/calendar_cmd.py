"""``raydesk calendar``: the next NYSE sessions, their hours, holidays and early closes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.calendar import NEW_YORK, MarketCalendar, to_new_york

__all__ = ["calendar", "render_calendar"]


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def calendar(
    days: Annotated[
        int, typer.Option("--days", "-n", min=1, max=400, help="How many sessions to show.")
    ] = 10,
    from_: Annotated[
        date | None,
        typer.Option(
            "--from",
            parser=_parse_date,
            metavar="YYYY-MM-DD",
            help="First day to consider (default: today in New York).",
        ),
    ] = None,
    horizon: Annotated[
        int,
        typer.Option("--horizon", min=0, max=3660, help="Days ahead to list holidays and early closes."),
    ] = 90,
) -> None:
    """Show the next N sessions with open and close in America/New_York."""
    if from_ is None:
        from core.clock import LiveClock  # the one place that may read the wall clock

        from_ = LiveClock().now().astimezone(NEW_YORK).date()
    render_calendar(MarketCalendar(), from_, days, Console(), horizon)


def render_calendar(cal: MarketCalendar, start: date, days: int, console: Console, horizon: int = 90) -> None:
    """Print ``days`` sessions from ``start``, then holidays and early closes ahead.

    Holidays and early closes are listed up to ``horizon`` days ahead, or to the last session
    shown if that is later.
    """
    # Two calendar days per session always suffice (at least 5 of 7 days trade).
    sessions = cal.sessions(start, start + timedelta(days=2 * days + 14))[:days]
    last = sessions[-1]

    table = Table(title=f"NYSE sessions from {start.isoformat()}, New York time")
    table.add_column("session")
    table.add_column("day")
    table.add_column("open")
    table.add_column("close")
    table.add_column("note")
    for d in sessions:
        market_open, market_close = cal.session_open_close(d)
        early = cal.is_early_close(d)
        table.add_row(
            d.isoformat(),
            d.strftime("%a"),
            to_new_york(market_open).strftime("%H:%M"),
            to_new_york(market_close).strftime("%H:%M"),
            "[yellow]early close[/yellow]" if early else "",
        )
    console.print(table)

    until = max(last, start + timedelta(days=horizon))
    holidays = cal.holidays(start, until)
    early_closes = cal.early_closes(start, until)
    if not holidays and not early_closes:
        console.print(f"No holidays or early closes until {until.isoformat()}.")
        return
    rows = [(d, "[red]holiday: closed[/red]") for d in holidays]
    for d in early_closes:
        close = to_new_york(cal.session_open_close(d)[1]).strftime("%H:%M")
        rows.append((d, f"[yellow]early close {close}[/yellow]"))
    notes = Table(title=f"Holidays and early closes until {until.isoformat()}")
    notes.add_column("date")
    notes.add_column("day")
    notes.add_column("what")
    for d, what in sorted(rows):
        notes.add_row(d.isoformat(), d.strftime("%a"), what)
    console.print(notes)
