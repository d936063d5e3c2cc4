"""Writing ``public/``: atomic replacement, unchanged files untouched, stale files removed."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from feeds.output import Output
from press.shares import FAILED, NOT_SHARED, Sharing, Tick, fork_out, no_tick, share_tick, ticking


@dataclass
class WriteReport:
    """What a write did, by path relative to the output folder."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reused: int = 0  # of the unchanged: not even made, their inputs were the same
    keys: dict[str, str] = field(default_factory=dict)  # each output's key, by path


class WriteFailed(Exception):
    """A file could not be written (no space left, no permission, a read-only disk): the
    message names the file and the reason. Nothing half-written is left, and the publish
    state is not recorded, so the next publish writes everything it has to."""


def write_atomic(path: Path, data: bytes, made: set[Path] | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, then rename it over.

    A reader sees the old file or the new one, never a partial one. There is no fsync per
    file (it cost a third of a cold publish): after a power cut a file may come back
    empty, and the next publish, which compares bytes, rewrites it.
    """
    # A name of our own (process and thread) rather than mkstemp's random tries; O_EXCL
    # still refuses to follow anything already there.
    temporary = str(path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if made is None or path.parent not in made:  # one mkdir a folder, not one a file
            path.parent.mkdir(parents=True, exist_ok=True)
            if made is not None:
                made.add(path.parent)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as error:
        raise WriteFailed(f"{path}: cannot be written: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            reason = error.strerror or str(error)
            raise WriteFailed(f"{path}: cannot be written: {reason}") from None
        raise


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


def _put(path: Path, output: Output, made: set[Path]) -> bool:
    """Make one output and write it if its bytes changed; True if it was written."""
    data = output.make()
    if _same(path, data):
        return False
    write_atomic(path, data, made)
    return True


def _put_share(
    share: list[tuple[Path, Output]], tick: Callable[[int], None] | None = None
) -> list[bool]:
    """``_put`` each output of a share; ``tick`` hears how many are done, every 64."""
    made: set[Path] = set()
    return [_put(path, output, made) for path, output in ticking(share, tick)]


def _put_all(todo: list[tuple[Path, Output]], sharing: Sharing, progress: Tick) -> list[bool]:
    """``_put`` each output; shared with forked processes when there are many, each
    making a run of the outputs in the order of the posts they show (a post shown in a
    feed, its archive document, a category's and its page is rendered once, in one
    process)."""
    total = len(todo)
    if sharing.processes < 2 or total < sharing.make_from or not sharing.may_fork():
        return _put_share(todo, share_tick(progress, total))
    tick = share_tick(progress, total, sharing.processes)
    order = sorted(range(total), key=lambda i: todo[i][1].about)
    ordered = [todo[i] for i in order]
    try:  # forked: the children have the outputs (and their makers) already
        done = fork_out(
            _put_share, ordered, sharing, here=lambda share: _put_share(share, tick), runs=True
        )
        written = [False] * total
        for i, result in zip(order, done, strict=True):
            written[i] = result
        return written
    except FAILED:  # make them here; a file a child wrote counts as written
        return [written or True for written in _put_share(todo, share_tick(progress, total))]


def write_tree(
    root: Path,
    outputs: Iterable[Output],
    manifest: Path,
    reuse: Callable[[Output], bool] = lambda output: False,
    sharing: Sharing = NOT_SHARED,
    progress: Tick = no_tick,
) -> WriteReport:
    """Make ``root`` hold ``outputs``: write what changed, remove what we wrote before and
    no longer produce. Files we never wrote (a favicon the user put there) are left alone.

    An output that ``reuse`` accepts is left as it is on disk without being made.
    ``manifest`` records the paths written, for the next run's removals. ``sharing``
    shares the making of many outputs with child processes; ``progress`` hears how many
    of those to make are made.
    """
    report = WriteReport()
    produced: set[str] = set()
    todo: list[tuple[Path, Output]] = []
    for output in outputs:
        name = output.name
        if name in produced:
            raise ValueError(f"two outputs want {name}")
        produced.add(name)
        report.keys[name] = output.key
        if reuse(output):
            report.unchanged.append(name)
            report.reused += 1
        else:
            todo.append((root / name, output))
    for (_, output), written in zip(todo, _put_all(todo, sharing, progress), strict=True):
        (report.written if written else report.unchanged).append(output.name)
    progress(len(todo), len(todo))
    report.written.sort()
    report.unchanged.sort()
    for name in sorted(_read_manifest(manifest) - produced):
        path = root / name
        if path.is_file():
            path.unlink()
            report.removed.append(name)
            _prune_empty(path.parent, root)
    listing = json.dumps(sorted(produced), indent=0).encode("utf-8")
    if not _same(manifest, listing):
        write_atomic(manifest, listing)
    return report


def _read_manifest(manifest: Path) -> set[str]:
    try:
        names = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    # Only relative paths that stay inside the output folder are ever removed.
    return {n for n in names if isinstance(n, str) and not n.startswith("/") and ".." not in n}


def _prune_empty(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
