"""Shared fixtures: the site of the bundled press.toml and temporary projects."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.model import Site

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def site() -> Site:
    return Site(
        title="China Bystander",
        url="https://chinabystander.com",
        author="The Bystander",
        language="en",
        timezone=LONDON,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundled project (press.toml, posts, templates) in a temporary folder."""
    shutil.copy(ROOT / "press.toml", tmp_path / "press.toml")
    shutil.copytree(ROOT / "posts", tmp_path / "posts")
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path
