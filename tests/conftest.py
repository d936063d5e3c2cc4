"""Shared fixtures: the site of the bundled press.toml and temporary projects."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output (then review with git diff)",
    )


GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, bytes], None]:
    """Compare bytes with ``tests/golden/NAME``; ``--update-golden`` rewrites the file."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, data: bytes) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        if not path.exists():
            pytest.fail(f"no golden file {path}; run `make golden` and review it")
        expected = path.read_bytes()
        if data != expected:
            diff = difflib.unified_diff(
                expected.decode("utf-8", "replace").splitlines(keepends=True),
                data.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="output",
            )
            pytest.fail("output differs from the golden file:\n" + "".join(list(diff)[:200]))

    return check
