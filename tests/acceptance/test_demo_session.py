"""The demo's session, pinned: the same seed gives the same orders, fills and equity, every run.

It replays the demo configuration (20 synthetic symbols, the intraday, swing and options paper
accounts, the session of 2025-12-31, the options account from the session before) on the rules
alone: model training is left out because Tune's early stopping depends on the order in which
trials report, which the machine decides.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cluster.demo import demo_settings, plan_demo
from cluster.demo_steps import generate_market, replay
from configs import load_settings

SYMBOLS = [f"SYN{c}" for c in "ABCDEFGHIJKLMNOPQRST"]
ACCOUNTS = ("intraday", "swing", "options")

# Pinned from a run of this configuration; a change here is a change of behaviour to explain.
# options was 100039.80 until the simulated exchange matched a combination on a snapshot of all
# its legs' new quotes (``SimExchange.on_quotes``) instead of after each leg's quote, part old and
# part new: the Trident entry now fills at 14:48, not 14:46, at other leg prices.
PINNED: dict[str, tuple[int, int, float]] = {
    "intraday": (181, 148, 100708.26),
    "swing": (5, 4, 100303.22),
    "options": (3, 12, 99889.8),
}


def _run(root: Path) -> dict[str, dict[str, Any]]:
    plan = plan_demo(root, SYMBOLS, date(2025, 12, 31), seed=7, accounts=ACCOUNTS)
    settings = demo_settings(load_settings(), plan)
    console = Console(quiet=True)
    generate_market(plan, settings, console)
    return replay(plan, settings, console)


@pytest.mark.slow
def test_demo_session_is_pinned_and_identical_on_a_rerun(ray_session: Any, tmp_path: Path) -> None:
    first = _run(tmp_path / "first")
    for name, acct in first.items():
        assert acct["lost_fills"] == 0 and acct["unknown_orders"] == 0, name
    assert not any(first[name]["open_positions"] for name in ("intraday",)), "intraday ends flat"
    outcome = {n: (a["orders"], a["fills"], round(a["equity"], 2)) for n, a in first.items()}
    assert outcome == PINNED
    second = _run(tmp_path / "second")
    assert second == first
