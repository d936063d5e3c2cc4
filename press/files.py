"""Reading the posts folder: the one place that opens post files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from feeds.errors import Problem


def post_paths(folder: Path) -> list[Path]:
    """Every ``*.md`` file below ``folder``, skipping hidden files and editor backups."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*.md")
        if not any(part.startswith((".", "#", "_")) for part in path.relative_to(folder).parts)
        and path.is_file()
    )


def display_path(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the project folder where it can be."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def read_sources(folder: Path, root: Path, problems: list[Problem]) -> Iterator[tuple[str, bytes]]:
    """``(display path, bytes)`` for each post file, one at a time (memory stays flat);
    a problem is added to ``problems`` for each file that cannot be read."""
    if not folder.is_dir():
        problems.append(Problem(display_path(folder, root), None, "the posts folder is missing"))
    for path in post_paths(folder):
        name = display_path(path, root)
        try:
            data = path.read_bytes()
        except OSError as error:
            problems.append(Problem(name, None, f"cannot be read: {error.strerror}"))
            continue
        yield name, data
