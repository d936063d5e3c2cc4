"""Reading the posts folder: the one place that opens post files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from feeds.comments import SUFFIX as COMMENTS_SUFFIX
from feeds.comments import comments_path

SKIPPED = (".", "#", "_")  # hidden files, editor backups and drafts folders like _drafts

Stamp = tuple[int, int]  # size, modification time in nanoseconds
Stamps = dict[str, tuple[str, Stamp | None]]  # display path: path, stamp (None: vanished)


class PostChanged(RuntimeError):
    """A post's file changed or vanished while a publish was using it."""


def post_paths(folder: Path) -> list[str]:
    """Every ``*.md`` file below ``folder``, skipping hidden files and editor backups."""
    return _scan(folder)[0]


def _scan(folder: Path) -> tuple[list[str], set[str]]:
    """The post files below ``folder``, sorted, and the comments files beside them: one
    listing of each folder, no file opened or stat'ed."""
    found: list[str] = []
    comments: set[str] = set()
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
            elif entry.name.endswith(COMMENTS_SUFFIX):
                comments.add(entry.path)
    return sorted(found), comments


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
    (None if it vanished), which its comments file beside it, if any, changes too."""
    stamps: Stamps = {}
    paths, comments = _scan(folder)
    for path in paths:
        try:
            stat = os.stat(path)
            stamp: Stamp | None = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = None
        beside = comments_path(path)
        if stamp is not None and beside in comments:  # listed: no stat for a post without
            stamp = _with_comments(beside, stamp)
        stamps[display_path(path, root)] = (path, stamp)
    return stamps


def _with_comments(beside: str, stamp: Stamp) -> Stamp:
    """A post's stamp that changes when its comments file (``a.comments.yaml`` beside
    ``a.md``) changes or goes: the size stays the post's own (for its limit)."""
    try:
        stat = os.stat(beside)
    except OSError:
        return stamp
    mixed = hash((stamp[1], stat.st_size, stat.st_mtime_ns)) & 0x7FFF_FFFF_FFFF_FFFF
    return (stamp[0], mixed)
