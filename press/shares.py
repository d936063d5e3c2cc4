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


def share_out(
    function: Callable[[list[T]], list[R]], items: Sequence[T], processes: int, method: str
) -> list[R]:
    """``function`` over ``items`` dealt out in ``processes`` shares (every n-th item, so
    each share is a like mix), results back in the order of ``items``: the first share in
    this process, each other one in a child process started by ``method`` (``fork``, or
    ``forkserver``, which needs ``function`` and the items to pickle). Raises one of
    ``FAILED``."""
    # Imported here: a publish with nothing to do shares nothing, and starts faster.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    shares = [list(items[i::processes]) for i in range(processes)]
    with ProcessPoolExecutor(processes - 1, mp_context=get_context(method)) as pool:
        others = pool.map(function, shares[1:])
        parts = [function(shares[0]), *others]
    ordered: list[R] = [None] * len(items)  # type: ignore[list-item]
    for i, part in enumerate(parts):
        ordered[i::processes] = part
    return ordered
