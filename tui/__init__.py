"""The raydesk terminal UI: watch the desk and act on it (``raydesk tui``, ``python -m tui``)."""
