"""Packaging: pyproject lists the first-party packages exactly, each resolves inside this
repository, the wheel would hold every one of their subpackages, and ruff knows them."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"tests", "benchmarks"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _listed() -> list[str]:
    config: dict[str, dict[str, dict[str, dict[str, list[str]]]]] = _pyproject()["tool"]  # type: ignore[assignment]
    include = config["setuptools"]["packages"]["find"]["include"]
    assert all(not p.endswith("*") or p.endswith(".*") for p in include), f"prefix globs: {include}"
    tops = [p for p in include if "*" not in p]
    assert sorted(include) == sorted([*tops, *(f"{t}.*" for t in tops)]), "each package with its subpackages"
    return tops


def test_the_listed_packages_are_exactly_the_first_party_folders() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_SHIPPED
    assert set(_listed()) == folders


def test_each_package_resolves_inside_the_repository() -> None:
    for name in _listed():
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        assert Path(spec.origin).resolve().is_relative_to(ROOT), f"{name} resolves to {spec.origin}"


def test_the_wheel_takes_every_subpackage() -> None:
    found = set(find_packages(str(ROOT), include=[p for t in _listed() for p in (t, f"{t}.*")]))
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for t in _listed() for p in (ROOT / t).rglob("__init__.py")
    }
    assert found == on_disk and "adapters.brokers.sim" in found


def test_ruff_knows_them_as_first_party() -> None:
    config: dict[str, dict[str, dict[str, dict[str, list[str]]]]] = _pyproject()["tool"]  # type: ignore[assignment]
    assert sorted(config["ruff"]["lint"]["isort"]["known-first-party"]) == sorted(_listed())
