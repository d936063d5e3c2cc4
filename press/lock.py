"""The publish lock: one publish run at a time, across processes."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class LockTimeout(Exception):
    """Another run held the lock for longer than we were willing to wait."""


@contextmanager
def held(
    path: Path,
    wait: float = 300.0,
    on_wait: Callable[[str], None] = lambda holder: None,
) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; if another process holds it, say so and wait.

    The holder's pid is written into the file so the waiting side can name it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    on_wait(_holder(path))
                    told = True
                if time.monotonic() > deadline:
                    raise LockTimeout(f"{path} is held by {_holder(path)}") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid else "another process"
