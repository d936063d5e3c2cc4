"""Locks between processes: a lock file in ``var/`` held with ``flock``, with the holder's
pid written into it so that a process that has to wait can name the one it waits for.
The lock goes with the process, however it ends."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from press.clock import ticks


class LockTimeout(Exception):
    """Another run held the lock for longer than we were willing to wait."""


@dataclass
class FileLock:
    """One lock file; ``take`` tries once, ``holder`` names who has it."""

    path: Path
    fd: int = -1

    def take(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return True

    def holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"process {pid}" if pid else "another process"

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1


@contextmanager
def held(
    path: Path,
    wait: float = 300.0,
    on_wait: Callable[[str], None] = lambda holder: None,
) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; if another process holds it, say so and wait."""
    lock = FileLock(path)
    deadline = ticks() + wait
    told = False
    while not lock.take():
        if not told:
            on_wait(lock.holder())
            told = True
        if ticks() > deadline:
            raise LockTimeout(f"{path} is held by {lock.holder()}")
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()
