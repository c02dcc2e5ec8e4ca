"""Assembles the ``raydesk`` Typer app from the command modules."""

from __future__ import annotations

import typer

from cluster.cli import (
    accounts_cmd,
    backtest_cmd,
    backup_cmd,
    calendar_cmd,
    config_cmd,
    data_cmd,
    demo_cmd,
    desk_cmd,
    halt_cmd,
    health_cmd,
    learning_cmd,
    models_cmd,
    run_cmd,
    serve_cmd,
    train_cmd,
    tui_cmd,
)

app = typer.Typer(
    name="raydesk",
    help="raydesk: an autonomous trading desk on Ray (paper trading by default).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_cmd.app, name="data")
app.add_typer(config_cmd.app, name="config")
app.add_typer(models_cmd.app, name="models")
app.add_typer(learning_cmd.app, name="learning")
app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(desk_cmd.schedule_app, name="schedule")
app.command("calendar")(calendar_cmd.calendar)
app.command("demo")(demo_cmd.demo)
app.command("backtest")(backtest_cmd.backtest)
app.command("train")(train_cmd.train)
app.command("serve")(serve_cmd.serve)
app.command("score")(serve_cmd.score)
app.command("run")(run_cmd.run)
app.command("status")(desk_cmd.status)
app.command("stop")(desk_cmd.stop)
app.command("flatten")(desk_cmd.flatten_all)
app.command("halt")(halt_cmd.halt)
app.command("resume-all")(halt_cmd.resume_all)
app.command("health")(health_cmd.health)
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.command("tui", context_settings=tui_cmd.CONTEXT)(tui_cmd.tui)
