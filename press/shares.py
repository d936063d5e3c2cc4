"""Work shared out between this process and child processes, one a core: what a cold
publish of a big site spends its time on (parsing posts, making files)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
FAILED = (OSError, BrokenExecutor)  # children that could not start, or died


def can_fork() -> bool:
    """Whether a child may be forked from this process: not while other threads run (a
    lock one of them holds would stay locked in the child). A forked child starts at
    once, with everything this process has loaded."""
    return threading.active_count() == 1


@dataclass(frozen=True)
class Sharing:
    """How a publish shares its work out with child processes: how many processes in
    all (1: none), from how many files parsing and outputs making pay for them, whether
    this process may fork now, and the pool that starts them. Tests set these."""

    processes: int = 1
    parse_from: int = 2000  # files to parse before it pays to start processes for them
    make_from: int = 16  # outputs to make before it pays to fork processes for them
    may_fork: Callable[[], bool] = can_fork
    pool: Callable[..., Any] | None = None  # None: concurrent.futures.ProcessPoolExecutor


NOT_SHARED = Sharing()  # everything in this process (frozen: a constant, not state)


def one_a_core() -> Sharing:
    """What the ``press`` command shares: one process a core, up to four."""
    return Sharing(processes=min(os.cpu_count() or 1, 4))


def share_out(
    function: Callable[[list[T]], list[R]],
    items: Sequence[T],
    sharing: Sharing,
    method: str,
) -> list[R]:
    """``function`` over ``items`` dealt out in ``processes`` shares (every n-th item, so
    each share is a like mix), results back in the order of ``items``: the first share in
    this process, each other one in a child process started by ``method`` (``fork``, or
    ``forkserver``, which needs ``function`` and the items to pickle), with
    ``sharing.processes`` processes in all. Raises one of ``FAILED``."""
    # Imported here: a publish with nothing to do shares nothing, and starts faster.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    processes = sharing.processes
    shares = [list(items[i::processes]) for i in range(processes)]
    start = sharing.pool or ProcessPoolExecutor
    with start(processes - 1, mp_context=get_context(method)) as pool:
        others = pool.map(function, shares[1:])
        parts = [function(shares[0]), *others]
    ordered: list[R] = [None] * len(items)  # type: ignore[list-item]
    for i, part in enumerate(parts):
        ordered[i::processes] = part
    return ordered
