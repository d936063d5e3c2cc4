"""Shared fixtures: the site of the bundled press.toml and temporary projects."""

from __future__ import annotations

import difflib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.model import Site
from press.mail import close_stores

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


POSTGRES = os.environ.get(
    "PRESS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_answers() -> str | None:
    """None when the test PostgreSQL answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    conninfo = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"no PostgreSQL at {conninfo}: {str(error).strip()}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in a temporary folder, or a schema of its own on
    the PostgreSQL server this machine runs (dropped afterwards). Without PostgreSQL the
    second kind skips, unless PRESS_REQUIRE_POSTGRES=1 (as in CI), where it fails."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'press.db'}"
        close_stores()
        return
    why = _postgres_answers()
    if why:
        if os.environ.get("PRESS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PRESS_REQUIRE_POSTGRES=1 but {why}")
        pytest.skip(why)
    import psycopg

    schema = f"press_test_{uuid.uuid4().hex[:12]}"
    conninfo = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        close_stores()
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    """Each test starts and ends with no pooled database connection left open."""
    yield
    close_stores()
