"""The TUI's panes: desk overview, account, models, tasks, event log."""
