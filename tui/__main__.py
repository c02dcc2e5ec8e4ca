"""``python -m tui``: the terminal UI on the desk of a settings profile (same options as ``raydesk tui``)."""

from __future__ import annotations

import sys

from tui.launch import main

if __name__ == "__main__":
    sys.exit(main())
