"""feeds, newsletter and press are also names of other PyPI projects: ours are imported."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["feeds", "newsletter", "press"])
def test_imported_packages_are_this_projects(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


def test_distribution_lists_exactly_our_packages() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "bystander-press"
    packages = meta["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} == {"feeds", "newsletter", "press"}
    assert "newsletter.migrations.versions" in packages  # the migrations ship too
    assert meta["project"]["scripts"]["press"] == "press.cli:main"
