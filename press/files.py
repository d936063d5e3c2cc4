"""Reading the posts folder: the one place that opens post files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

SKIPPED = (".", "#", "_")  # hidden files, editor backups and drafts folders like _drafts
COMMENTS = ".comments.yaml"  # feeds.comments.SUFFIX: a post's comments, beside it

Stamp = tuple[int, int]  # size, modification time in nanoseconds
Stamps = dict[str, tuple[str, Stamp | None]]  # display path: path, stamp (None: vanished)


class PostChanged(RuntimeError):
    """A post's file changed or vanished while a publish was using it."""


def post_paths(folder: Path) -> list[str]:
    """Every ``*.md`` file below ``folder``, skipping hidden files and editor backups."""
    found: list[str] = []
    folders = [str(folder)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:  # gone, or not a folder
            continue
        for entry in entries:  # is_dir and is_file read the listing: no stat a file
            if entry.name.startswith(SKIPPED):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif entry.name.endswith(".md") and entry.is_file():
                found.append(entry.path)
    return sorted(found)


def files_below(folder: Path, pattern: str = "*") -> list[Path]:
    """Every file below ``folder`` whose name matches ``pattern``, sorted."""
    return sorted(p for p in folder.rglob(pattern) if p.is_file()) if folder.is_dir() else []


def fingerprint(paths: Iterable[Path], seed: bytes = b"") -> str:
    """A hash of ``seed`` and each file's path, size and modification time, like make's
    idea of a change; a file that vanished counts as absent."""
    digest = hashlib.sha256(seed)
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def display_path(path: str | Path, root: Path) -> str:
    """A path as the user knows it: relative to the project folder where it can be."""
    text, base = str(path), str(root).rstrip("/") + "/"
    return text[len(base) :] if text.startswith(base) else text


def post_stamps(folder: Path, root: Path) -> Stamps:
    """Each post file under ``folder`` by display path: its path, and its size and time
    (None if it vanished)."""
    stamps: Stamps = {}
    for path in post_paths(folder):
        try:
            stat = os.stat(path)
            stamp: Stamp | None = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = None
        if stamp is not None:
            stamp = _with_comments(path, stamp)
        stamps[display_path(path, root)] = (path, stamp)
    return stamps


def _with_comments(path: str, stamp: Stamp) -> Stamp:
    """A post's stamp that changes when its comments file (``a.comments.yaml`` beside
    ``a.md``) comes, goes or changes: the size stays the post's own (for its limit)."""
    try:
        stat = os.stat(path.removesuffix(".md") + COMMENTS)
    except OSError:
        return stamp
    mixed = hash((stamp[1], stat.st_size, stat.st_mtime_ns)) & 0x7FFF_FFFF_FFFF_FFFF
    return (stamp[0], mixed)
