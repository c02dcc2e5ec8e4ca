"""One place that rewrites a benchmark's own section of ``RESULTS.md``, leaving the others."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n"


def write_section(title: str, text: str, path: Path = RESULTS) -> None:
    """Replace the section headed ``title`` (up to the next ``## ``) with ``text``, or append it.

    ``text`` may start with the title or be the section's body alone.
    """
    body = text if text.lstrip().startswith(title) else f"{title}\n\n{text.strip()}\n"
    current = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: body.strip("\n") + "\n\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + body
    path.write_text(updated.rstrip("\n") + "\n")
