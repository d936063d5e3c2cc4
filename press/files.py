"""Reading the posts folder: the one place that opens post files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from feeds.errors import Problem

SKIPPED = (".", "#", "_")  # hidden files, editor backups and drafts folders like _drafts


def post_paths(folder: Path) -> list[Path]:
    """Every ``*.md`` file below ``folder``, skipping hidden files and editor backups."""
    found: list[str] = []
    for top, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(SKIPPED)]
        found.extend(
            os.path.join(top, name)
            for name in files
            if name.endswith(".md")
            and not name.startswith(SKIPPED)
            and os.path.isfile(os.path.join(top, name))
        )
    return [Path(name) for name in sorted(found)]


def display_path(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the project folder where it can be."""
    text, base = str(path), str(root).rstrip("/") + "/"
    return text[len(base) :] if text.startswith(base) else text


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
