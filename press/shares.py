"""Work shared out between this process and child processes, one a core: what a cold
publish of a big site spends its time on (parsing posts, making files)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
FAILED = (OSError, BrokenExecutor)  # children that could not start, or died


def can_fork() -> bool:
    """Whether a child may be forked from this process: not while other threads run (a
    lock one of them holds would stay locked in the child). A forked child starts at
    once, with everything this process has loaded."""
    return threading.active_count() == 1


def share_out(function: Callable[[T], R], shares: Sequence[T], method: str) -> list[R]:
    """``function`` of each share, in order: the first share in this process, each other
    one in a child process started by ``method`` (``fork``, or ``forkserver``, which
    needs ``function`` and the shares to pickle). Raises one of ``FAILED``."""
    # Imported here: a publish with nothing to do shares nothing, and starts faster.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(len(shares) - 1, mp_context=get_context(method)) as pool:
        others = pool.map(function, shares[1:])
        first = function(shares[0])
        return [first, *others]
